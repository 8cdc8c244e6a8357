"""Static pictures of widgets, for pages read without a kernel (the course website, slides).

A widget needs a running kernel to draw anything. :func:`static_html` turns any
ipywidgets widget into plain HTML showing its current (default) state:

* an ``ipywidgets.interactive`` shows its control values and the figure its function draws
  with them (its ``result`` when that is a matplotlib figure, else the images it displays
  when called again);
* a box (``HBox``/``VBox``/...) lays out its children in a row or a column;
* an ``Image`` becomes an ``<img>`` with the PNG inlined; a ``Label``/``HTML`` its text;
  a slider, dropdown or text box its description and value.

Loaded as an IPython extension (``%load_ext genlearn.widgets.static``; the book builder
starts its kernels with it), every widget a cell displays also carries this HTML as its
``text/html`` representation, next to the live widget view (progress bars excepted: at
display time they are empty). Nothing changes for the widgets themselves: they stay
interactive in JupyterLab.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

__all__ = ["static_html", "figure_png", "is_progress_bar", "install", "uninstall", "load_ipython_extension",
           "unload_ipython_extension"]

NOTE = "Static picture of an interactive widget at its default setting; run the notebook to use it."


def figure_png(fig: Any, dpi: int = 80) -> bytes:
    """PNG bytes of a matplotlib figure (works on closed figures too)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def _img(data: bytes, fmt: str = "png", alt: str | None = None) -> str:
    alt = html.escape(alt or "the widget's picture at its default setting", quote=True)
    return f'<img src="data:image/{fmt};base64,{base64.b64encode(data).decode("ascii")}" alt="{alt}"/>'


def _value_text(widget: Any) -> str:
    if hasattr(widget, "label") and isinstance(getattr(widget, "label", None), str):
        value = widget.label  # Dropdown, SelectionSlider: the shown option
    else:
        value = widget.value
        fmt = getattr(widget, "readout_format", None)
        if isinstance(value, float) and isinstance(fmt, str):
            try:
                value = format(value, fmt)
            except ValueError:
                pass
    name = getattr(widget, "description", "") or ""
    text = f"{name} = {value}" if name else f"{value}"
    return f'<span class="genlearn-static-control" style="font-family:monospace">{html.escape(text)}</span>'


def _outputs_html(outputs: list[dict]) -> list[str]:
    """HTML for captured display outputs (PNG images, else plain text)."""
    parts = []
    for out in outputs:
        data = out.get("data", {})
        if "image/png" in data:
            png = data["image/png"]
            alt = ((out.get("metadata") or {}).get("image/png") or {}).get("alt")
            parts.append(_img(base64.b64decode(png) if isinstance(png, str) else png, alt=alt))
        elif "text/plain" in data and not str(data["text/plain"]).startswith("<Figure"):
            parts.append(f"<pre>{html.escape(str(data['text/plain']))}</pre>")
    return parts


def _interactive_figures(widget: Any) -> list[str]:
    """The figure(s) an ``interactive`` draws at its current control values."""
    from matplotlib.figure import Figure

    from genlearn.viz import alt_text

    if isinstance(widget.result, Figure):
        return [_img(figure_png(widget.result), alt=alt_text(widget.result))]
    import matplotlib.pyplot as plt
    from IPython.utils.capture import capture_output

    before = set(plt.get_fignums())
    with capture_output() as captured:
        result = widget.f(**widget.kwargs)
    parts = _outputs_html([{"data": o.data, "metadata": o.metadata} for o in captured.outputs])
    if isinstance(result, Figure) and not parts:
        parts.append(_img(figure_png(result), alt=alt_text(result)))
    for num in sorted(set(plt.get_fignums()) - before):  # a non-inline backend leaves them open
        fig = plt.figure(num)
        if not parts:
            parts.append(_img(figure_png(fig), alt=alt_text(fig)))
        plt.close(fig)
    return parts


def _render(widget: Any) -> str:
    import ipywidgets as w

    if isinstance(widget, w.interactive):
        controls = " &nbsp; ".join(_value_text(c) for c in widget.kwargs_widgets)
        return f"<div>{controls}</div>" + "".join(_interactive_figures(widget))
    if isinstance(widget, w.Box):
        direction = "row" if isinstance(widget, w.HBox | w.GridBox) else "column"
        inner = "".join(_render(c) for c in widget.children)
        return (f'<div style="display:flex;flex-direction:{direction};gap:6px;align-items:flex-start;'
                f'flex-wrap:wrap">{inner}</div>')
    if isinstance(widget, w.Image):
        return _img(bytes(widget.value), widget.format or "png") if widget.value else ""
    if isinstance(widget, w.HTML | w.HTMLMath):
        return f"<div>{widget.value}</div>"
    if isinstance(widget, w.Label):
        return f"<div>{html.escape(widget.value)}</div>"
    if isinstance(widget, w.Output):
        return "".join(_outputs_html(list(widget.outputs)))
    if isinstance(widget, w.ValueWidget):
        return _value_text(widget)
    return ""


def static_html(widget: Any) -> str:
    """HTML (images inlined) showing ``widget`` in its current state; see the module docstring."""
    import ipywidgets as w

    if not isinstance(widget, w.Widget):
        raise ValueError(f"expected an ipywidgets widget, got {type(widget).__name__}")
    return (f'<div class="genlearn-static-widget" title="{NOTE}">{_render(widget)}'
            f'<p style="font-size:80%;color:#666">{NOTE}</p></div>')


def is_progress_bar(widget: Any) -> bool:
    """True for a progress-bar box (tqdm's notebook bar): its picture at display time would
    show 0%, so it gets none; a page builder can draw its final state instead."""
    import ipywidgets as w

    return isinstance(widget, w.Box) and any(isinstance(c, w.FloatProgress | w.IntProgress)
                                             for c in widget.children)


def _display_html(widget: Any) -> str | None:
    return None if is_progress_bar(widget) else static_html(widget)


def install(ip: Any = None) -> None:
    """Make IPython add :func:`static_html` as the ``text/html`` form of every displayed widget
    (progress bars excepted, see :func:`is_progress_bar`)."""
    import ipywidgets as w

    if ip is None:
        from IPython import get_ipython

        ip = get_ipython()
    if ip is None:
        raise ValueError("no IPython shell is running; call install() inside a kernel")
    ip.display_formatter.formatters["text/html"].for_type(w.Widget, _display_html)


def uninstall(ip: Any = None) -> None:
    """Undo :func:`install`."""
    import ipywidgets as w

    if ip is None:
        from IPython import get_ipython

        ip = get_ipython()
    if ip is not None:
        ip.display_formatter.formatters["text/html"].type_printers.pop(w.Widget, None)


def load_ipython_extension(ip: Any) -> None:  # %load_ext genlearn.widgets.static
    install(ip)


def unload_ipython_extension(ip: Any) -> None:
    uninstall(ip)
