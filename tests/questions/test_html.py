"""Question text is sanitised: script, event handlers and dangerous URLs never survive."""

from lms.questions.html import html_to_text, is_plain, markdown_to_html, plain_to_html, sanitise


def test_script_handlers_and_javascript_links_are_removed():
    """Script, event-handler attributes and javascript: links are dropped; the text stays."""
    html = sanitise(
        '<p onclick="x()">看<script>alert(1)</script><a href="javascript:alert(1)">链接</a>'
        '<img src=x onerror="alert(1)"><iframe src="http://e"></iframe></p>'
    )
    assert "script" not in html and "onclick" not in html and "onerror" not in html
    assert "javascript" not in html and "iframe" not in html
    assert "看" in html and "链接" in html


def test_data_urls_only_for_raster_images():
    """data: is kept for embedded PNG/JPEG/GIF/WebP images, dropped for links and SVG."""
    html = sanitise(
        '<a href="data:text/html,x">a</a><img src="data:image/png;base64,AAAA">'
        '<img src="data:image/svg+xml;base64,AAAA"><img src="file:///etc/passwd">'
    )
    assert html.count("data:") == 1 and "image/png" in html
    assert "svg" not in html and "file:" not in html


def test_markdown_shows_raw_html_as_text():
    """Raw HTML inside Markdown is shown, not run."""
    html = markdown_to_html("**重点** <script>alert(1)</script>")
    assert "<strong>重点</strong>" in html and "<script>" not in html


def test_plain_text_round_trip():
    """Plain text becomes escaped HTML with line breaks, and back."""
    html = plain_to_html("电压 < 220V\n第二行")
    assert html == "电压 &lt; 220V<br>第二行"
    assert html_to_text(html) == "电压 < 220V\n第二行"
    assert is_plain(html) and not is_plain("<p><b>粗体</b></p>")
