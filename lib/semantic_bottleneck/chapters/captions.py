"""Figure captions: `captioned(fig, text)` gives a matplotlib figure a caption that notebooks and the book show under it.

In IPython a captioned figure displays as an HTML `<figure>` (the PNG inline, the caption as its `<figcaption>`);
elsewhere the figure is unchanged. A caption names the paper figure the drawing reproduces, or says it has none.
"""
import base64
import html
import io

from matplotlib.figure import Figure


def figure_html(fig):
    """A captioned figure as an HTML <figure>, or None for one without a caption (IPython then shows the PNG)."""
    caption = getattr(fig, "caption", None)
    if not caption:
        return None
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    png = base64.b64encode(buffer.getvalue()).decode()
    text = html.escape(caption)
    return (f'<figure class="sb-figure"><img src="data:image/png;base64,{png}" alt="{text}">'
            f"<figcaption>{text}</figcaption></figure>")


def captioned(fig, caption):
    """Attach `caption` to `fig` (returned) and make IPython, when running, display captioned figures as HTML."""
    fig.caption = caption
    try:
        from IPython import get_ipython
    except ImportError:
        return fig
    shell = get_ipython()
    if shell is not None:
        shell.display_formatter.formatters["text/html"].for_type(Figure, figure_html)
    return fig
