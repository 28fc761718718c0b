"""extract_markdown: HTML to deterministic, normalized Markdown (crawlers/extraction)."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any
from unittest.mock import patch
from urllib.parse import urljoin

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from lxml.cssselect import SelectorError

from crawlers.declarations import RangeSelector
from crawlers.extraction import ExtractionError, decoding, extract_markdown, links
from crawlers.extraction.markdown import Renderer as _Renderer
from crawlers.extraction.tree import Document as _Document

FIXTURES = Path(__file__).parent / "fixtures" / "extract"
PAGE = "https://example.com/legal/terms"


md = extract_markdown


def error_kind(body: str | bytes, **options: Any) -> str:
    with pytest.raises(ExtractionError) as caught:
        extract_markdown(body, **options)
    return caught.value.kind


# --- Block structure ------------------------------------------------------------------------


def test_headings_are_atx() -> None:
    html = "".join(f"<h{level}>Level {level}</h{level}>" for level in range(1, 7))
    assert md(html) == "\n\n".join(f"{'#' * level} Level {level}" for level in range(1, 7)) + "\n"


def test_heading_is_one_line_without_emphasis_and_empty_ones_vanish() -> None:
    html = "<h2><strong>Data</strong><br>retention <em>policy</em></h2><h3> </h3><p>Text</p>"
    assert md(html) == "## Data retention policy\n\nText\n"


def test_paragraphs_are_separated_by_one_blank_line() -> None:
    assert md("<p>First</p>\n\n  <p>Second</p><div><div>Third</div></div>") == (
        "First\n\nSecond\n\nThird\n"
    )
    # Line breaks in a row, a spacing of real pages, leave one blank line.
    assert md("<p>First<br><br><br><br>Second</p>") == "First\n\nSecond\n"


def test_inline_elements_do_not_glue_or_split_words() -> None:
    assert md("<p><span>a</span><span>b</span></p>") == "ab\n"
    assert md("<p><span>a</span> <span>b</span></p>") == "a b\n"
    assert md("<p>a</p><p>b</p>") == "a\n\nb\n"
    assert md("<p>a<br>b</p>") == "a\nb\n"
    assert md("<div>a<div>b</div>c</div>") == "a\n\nb\n\nc\n"


def test_whitespace_collapses_without_touching_typography() -> None:
    html = "<p>  The   “Terms”\n\t apply —\u00a0now.\u00a0 </p>"
    assert md(html) == "The “Terms” apply —\u00a0now.\n"


def test_a_text_line_that_looks_like_a_heading_is_escaped() -> None:
    assert md("<p># of users</p>") == "\\# of users\n"


def test_unordered_and_ordered_lists() -> None:
    html = "<ul><li>one</li><li>two</li></ul><ol><li>first</li><li>second</li></ol>"
    assert md(html) == "- one\n- two\n\n1. first\n2. second\n"


def test_ordered_list_honours_start() -> None:
    assert md('<ol start="4"><li>d</li><li>e</li></ol>') == "4. d\n5. e\n"


def test_nested_lists_are_indented_by_four_spaces() -> None:
    html = (
        "<ul><li>fruit<ul><li>apple<ol><li>green</li></ol></li><li>pear</li></ul></li>"
        "<li>vegetables</li></ul>"
    )
    assert md(html) == "- fruit\n    - apple\n        1. green\n    - pear\n- vegetables\n"


def test_list_nested_directly_in_a_list_belongs_to_the_previous_item() -> None:
    html = "<ul><li>such as:</li><ul><li>phishing</li></ul><li>spam</li></ul>"
    assert md(html) == "- such as:\n    - phishing\n- spam\n"


def test_list_item_with_several_paragraphs() -> None:
    html = "<ol><li><p>Scope.</p><p>These terms apply.</p></li><li>Fees.</li></ol>"
    assert md(html) == "1. Scope.\n\n    These terms apply.\n2. Fees.\n"


def test_table_with_header_cells() -> None:
    html = (
        "<table><caption>Contacts</caption><thead><tr><th>Country</th><th>Phone</th></tr></thead>"
        "<tbody><tr><td>Austria</td><td>0800 001180</td></tr>"
        "<tr><td>A|B</td><td>1<br>2</td></tr></tbody></table>"
    )
    assert md(html) == (
        "Contacts\n\n"
        "| Country | Phone |\n| --- | --- |\n| Austria | 0800 001180 |\n| A\\|B | 1 2 |\n"
    )


def test_table_without_header_cells_uses_its_first_row() -> None:
    html = "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>"
    assert md(html) == "| a | b |\n| --- | --- |\n| c | d |\n"


def test_table_spans_empty_cells_and_section_order() -> None:
    html = (
        "<table><tfoot><tr><td>total</td><td>3</td></tr></tfoot>"
        "<tbody><tr><td colspan=2>wide</td></tr><tr><td>x</td></tr></tbody>"
        "<thead><tr><th>k</th><th>v</th></tr></thead></table>"
    )
    assert md(html) == "| k | v |\n| --- | --- |\n| wide | |\n| x | |\n| total | 3 |\n"


def test_single_cell_layout_table_is_a_plain_container() -> None:
    assert md("<table><tr><td><h2>Terms</h2><p>Text</p></td></tr></table>") == (
        "## Terms\n\nText\n"
    )


def test_blockquote_pre_code_rule_and_definition_list() -> None:
    html = (
        "<blockquote><p>Quoted</p><p>twice</p></blockquote>"
        "<pre>curl -H 'x'\n  --data 1\n</pre>"
        "<p>Call <code>get(`id`)</code> <code>now</code>.</p><hr>"
        "<dl><dt>Service</dt><dd>What we offer.</dd></dl>"
    )
    assert md(html) == (
        "> Quoted\n>\n> twice\n\n```\ncurl -H 'x'\n  --data 1\n```\n\n"
        "Call ``get(`id`)`` `now`.\n\n---\n\nService\n\nWhat we offer.\n"
    )


# --- Emphasis and links -----------------------------------------------------------------------


def test_bold_and_italic() -> None:
    html = "<p><b>b</b> <strong>s</strong> <i>i</i> <em>e</em> <b><i>both</i></b></p>"
    assert md(html) == "**b** **s** *i* *e* ***both***\n"


def test_emphasis_markers_stay_off_spaces_and_do_not_double() -> None:
    assert md("<p>a<b> bold </b>b</p>") == "a **bold** b\n"
    assert md("<p><b>outer <strong>inner</strong></b></p>") == "**outer inner**\n"
    assert md("<p>a<b> </b>b<em></em></p>") == "a b\n"


def test_links_are_absolute() -> None:
    html = (
        '<p><a href="/privacy">Privacy</a>, <a href="faq#q1">FAQ</a>, <a href="#top">top</a>, '
        '<a href="https://other.org/x">other</a></p>'
    )
    assert md(html, url=PAGE) == (
        "[Privacy](https://example.com/privacy), [FAQ](https://example.com/legal/faq#q1), "
        "[top](https://example.com/legal/terms#top), [other](https://other.org/x)\n"
    )


def test_links_resolve_against_base_href() -> None:
    html = (
        '<html><head><base href="https://policies.example.com/"></head>'
        '<body><a href="terms?hl=en">Terms</a></body></html>'
    )
    assert md(html, url=PAGE) == "[Terms](https://policies.example.com/terms?hl=en)\n"


def test_relative_links_stay_relative_without_a_page_url() -> None:
    assert md('<a href="/privacy">Privacy</a>') == "[Privacy](/privacy)\n"


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("/p?utm_source=news&utm_medium=mail&id=7#s", "https://example.com/p?id=7#s"),
        ("/p?fbclid=abc", "https://example.com/p"),
        ("/p?a=1&gclid=x&mc_cid=1&mc_eid=2&b=%20two", "https://example.com/p?a=1&b=%20two"),
        ("/p?_hsenc=x&_hsmi=y&igshid=z&ref_src=twsrc&UTM_Campaign=q", "https://example.com/p"),
        ("/p?ref=home&lang=en", "https://example.com/p?ref=home&lang=en"),
    ],
)
def test_tracking_parameters_are_removed_and_others_kept_verbatim(href: str, expected: str) -> None:
    assert md(f'<a href="{href}">x</a>', url=PAGE) == f"[x]({expected})\n"


def test_links_without_text_vanish_and_special_schemes() -> None:
    html = (
        '<p>Write to <a href="mailto:legal@example.com">legal@example.com</a>'
        '<a href="/logo"><img src="logo.png" alt="Logo"></a> or '
        '<a href="javascript:openChat()">chat with us</a>'
        '<a href=" JavaScript:void(0)"><svg></svg></a>.</p>'
    )
    assert md(html, url=PAGE) == (
        "Write to [legal@example.com](mailto:legal@example.com) or chat with us.\n"
    )


def test_link_targets_cannot_break_markdown_link_syntax() -> None:
    html = '<a href="/a b(1)">x</a> <a href="http://[::1">bad host</a>'
    assert md(html, url=PAGE) == "[x](https://example.com/a%20b%281%29) [bad host](http://[::1)\n"


_URL_PIECES = [*"aZ09:/?#;%+-.@[]() \t\n\x01\x0c\uff1a\u2100é", "http", "HTTPS", "//", "?utm_id=1"]
_SCHEMES = ["", "http:", "https:", "HTTPS:", "Http:", "mailto:", "ftp:", "x+y:", "1a:", "//", " "]


def _urls(starts: list[str]) -> st.SearchStrategy[str]:
    """A URL-like string: a scheme (or another start) from `starts`, then pieces of URL syntax."""
    rest = st.lists(st.sampled_from(_URL_PIECES), max_size=8).map("".join)
    return st.tuples(st.sampled_from(starts), rest).map("".join)


@settings(max_examples=1000, deadline=None)
@given(
    href=_urls(_SCHEMES),
    base=_urls([*_SCHEMES, "http://example.com/a/", "https://example.com/a?b#c", "http://[::1"]),
)
def test_link_targets_are_those_urljoin_gives(href: str, base: str) -> None:
    """`clean_url` spares `urljoin` for links of another scheme than the page's, which it would
    return as they are: the targets must be those of `urljoin` itself, on any Python. (Where
    `urljoin` fails on the link, the link is kept as it is either way.)"""
    with patch.object(links, "_resolved", lambda href, scheme, base: urljoin(base, href)):
        by_urljoin = links.clean_url(href, base)
    assert links.clean_url(href, base) == by_urljoin


def test_nested_links_keep_the_outer_one() -> None:
    assert md('<a href="/a">outer <a href="/b">inner</a></a>', url=PAGE).startswith(
        "[outer](https://example.com/a)"
    )


# --- What is dropped --------------------------------------------------------------------------


def test_code_widgets_hidden_parts_and_comments_are_dropped() -> None:
    html = (
        "<p>Kept</p><script>var a = 'script';</script><style>p { color: red }</style>"
        "<noscript>noscript</noscript><template><p>template</p></template>"
        "<svg><text>svg</text></svg><iframe>iframe</iframe><button>button</button>"
        "<input value='input'><select><option>select</option></select>"
        "<textarea>textarea</textarea><p hidden>hidden</p><div aria-hidden='true'>aria</div>"
        "<!-- comment --><img src='a.png' alt='image'><p>Also kept</p>"
    )
    assert md(html) == "Kept\n\nAlso kept\n"


def test_disclosure_buttons_keep_their_label() -> None:
    html = (
        '<button aria-expanded="false" aria-controls="c"><p>Do Not Abuse our Platform</p>'
        '<svg><path d="M0"/></svg></button><div id="c"><p>Details</p></div>'
    )
    assert md(html) == "Do Not Abuse our Platform\n\nDetails\n"


# --- Selection --------------------------------------------------------------------------------


def test_select_keeps_matches_in_document_order_once() -> None:
    html = (
        "<div id='b'><p>B</p><div class='x'><p>inside B</p></div></div>"
        "<div class='x'><p>X</p></div><nav>menu</nav><div id='a'><p>A</p></div>"
    )
    assert md(html, select=["#a", ".x", "#b"]) == "B\n\ninside B\n\nX\n\nA\n"


def test_select_accepts_a_lone_selector_string() -> None:
    assert md("<nav>menu</nav><main><p>Terms</p></main>", select="main") == "Terms\n"


def test_remove_applies_inside_the_selection() -> None:
    html = (
        "<main><span class='sr-only'>Page title</span><p>Terms</p>"
        "<div class='cookie'>Cookies?</div></main><div class='cookie'>outside</div>"
    )
    assert md(html, select=["main"], remove=[".cookie", "main .sr-only"]) == "Terms\n"


def test_select_inside_a_removed_part_matches_nothing() -> None:
    html = "<aside><section>Promo</section></aside><p>Body</p>"
    assert error_kind(html, select=["section"], remove=["aside"]) == "selector-matched-nothing"


def test_selector_matching_nothing_names_the_selectors() -> None:
    with pytest.raises(ExtractionError) as caught:
        md("<p>Terms</p>", select=["#content", ".terms"])
    assert caught.value.kind == "selector-matched-nothing"
    assert "#content" in str(caught.value) and ".terms" in str(caught.value)


def test_selection_of_hidden_elements_matches_nothing() -> None:
    html = "<div hidden><main>old</main></div><p>text</p>"
    assert error_kind(html, select=["main"]) == "selector-matched-nothing"


# --- Errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "html",
    [
        "",
        "   ",
        "<html><head><title>Only a title</title></head><body></body></html>",
        "<p> \u00a0 </p><img src='x.png' alt='x'><script>text()</script>",
        "<hr><table><tr><td></td><td> </td></tr></table>",
    ],
)
def test_pages_without_text(html: str) -> None:
    assert error_kind(html) == "empty-text"


@pytest.mark.parametrize("body", [b"", b" \r\n", b"<!-- nothing here -->"])
def test_a_blank_page_is_said_blank_whatever_the_selectors(body: bytes) -> None:
    """A 200 with an empty body read `selector-matched-nothing: no element matches 'main'`,
    which sent the user to fix a selector that was right."""
    with pytest.raises(ExtractionError) as raised:
        extract_markdown(body, select=["main"], remove=["nav"])
    assert (raised.value.kind, str(raised.value)) == (
        "empty-text",
        "the page is blank: no element, no text",
    )


@pytest.mark.parametrize(
    ("select", "said"),
    [
        (["#contents"], "no element matches '#contents' (did you mean '#content'?)"),
        (
            [".legal-txt", "artcle"],
            "no element matches '.legal-txt' (did you mean '.legal-text'?),"
            " 'artcle' (did you mean 'article'?)",
        ),
        (["#rules"], "no element matches '#rules'"),  # close to nothing on the page: no guess
    ],
)
def test_a_selector_that_matches_nothing_names_the_page_s_near_miss(
    select: list[str], said: str
) -> None:
    """A typo in a selector (`#contents` for the page's `#content`) read only `no element
    matches '#contents'`, and the user had to read the page's HTML to find the one meant."""
    page = '<main id="content"><article class="legal-text x"><p>Terms.</p></article></main>'
    with pytest.raises(ExtractionError) as raised:
        extract_markdown(page, select=select)
    assert (raised.value.kind, str(raised.value)) == ("selector-matched-nothing", said)


def test_selection_whose_text_is_all_removed_is_empty() -> None:
    assert error_kind("<main><nav>menu</nav></main>", select=["main"], remove=["nav"]) == (
        "empty-text"
    )


@pytest.mark.parametrize(
    "body",
    [
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"<html><body>text\x00\x01\x02binary</body></html>",
        "<p>text\x00</p>",
    ],
)
def test_binary_bodies_are_not_html(body: bytes | str) -> None:
    assert error_kind(body) == "not-html"


@settings(max_examples=1000, deadline=None)
@given(
    text=st.text(
        st.one_of(
            st.characters(codec=None),
            st.sampled_from([*"\x01\x0b\x0e\x1f\x7f\ud800\udfff\ufffe\uffff\ufffd\xe9"]),
        )
    )
)
def test_junk_is_found_where_its_pattern_finds_it(text: str) -> None:
    """`_has_junk` spares the pattern's scan of pages without junk: it must agree with it."""
    assert decoding._has_junk(text) == bool(decoding._JUNK.search(text))


# --- Encodings --------------------------------------------------------------------------------


def test_encoding_from_meta_charset() -> None:
    body = '<meta charset="windows-1252"><p>“Café”</p>'.encode("cp1252")
    assert md(body) == "“Café”\n"


def test_encoding_from_http_equiv_meta_reads_latin1_as_windows_1252() -> None:
    meta = '<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1">'
    body = f"{meta}<p>Café".encode("cp1252") + b"\x93quoted\x94</p>"
    assert md(body) == "Café“quoted”\n"


def test_encoding_argument_beats_meta_charset() -> None:
    body = '<meta charset="utf-8"><p>Ünïcödé</p>'.encode("iso-8859-15")
    assert md(body, encoding="iso-8859-15") == "Ünïcödé\n"


def test_encoding_defaults_to_utf8_and_survives_bad_bytes() -> None:
    assert md("<p>naïve</p>".encode()) == "naïve\n"
    assert md("<p>naïve, caf".encode() + b"\xe9 ok</p>") == "naïve, caf\ufffd ok\n"


def test_a_page_that_declares_no_charset_and_is_no_utf8_is_windows_1252() -> None:
    """As browsers read it. Scrapy's guess from the bytes changed with the page's words: this
    page read as cp1250 (`données ŕ caractčre`), and a shorter one as cp775 once a paragraph
    was added (`donÆt`, `®`), a change of every such letter that was none."""
    text = "Données à caractère personnel. We don’t sell them. © 2025"
    for extra in ("", "<p>" + "You may use the API within the limits of your plan. " * 40):
        page = f"<p>{text}</p>{extra}".encode("cp1252")
        assert md(page).startswith(text + "\n")


def test_unknown_encoding_labels_fall_back() -> None:
    assert md("<p>naïve</p>".encode(), encoding="no-such-charset") == "naïve\n"
    assert md("<p>naïve</p>".encode(), encoding="base64") == "naïve\n"


def test_byte_order_mark_wins() -> None:
    assert md(b"\xff\xfe" + "<p>Grüße</p>".encode("utf-16-le"), encoding="latin-1") == "Grüße\n"
    assert md(b"\xef\xbb\xbf" + "<p>Grüße</p>".encode(), encoding="latin-1") == "Grüße\n"


# --- Determinism and normal form ---------------------------------------------------------------


def test_same_html_gives_identical_bytes() -> None:
    html = (FIXTURES / "google-terms.html").read_bytes()
    outputs = {md(html, select=['[role="article"]'], url=PAGE) for _ in range(3)}
    assert len(outputs) == 1


def test_output_is_nfc_and_ends_with_one_newline() -> None:
    decomposed = unicodedata.normalize("NFD", "<p>Données personnelles</p>\n\n\n")
    out = md(decomposed)
    assert out == "Données personnelles\n"
    assert unicodedata.is_normalized("NFC", out)


def test_bytes_and_text_give_the_same_result() -> None:
    html = "<h1>Título</h1><p>Política de privacidad</p>"
    assert md(html) == md(html.encode())


def test_pathologically_deep_pages_keep_their_text() -> None:
    html = "<div>" * 5000 + "deep text" + "</div>" * 5000 + "<p>after</p>"
    assert md(html) == "deep text\n\nafter\n"


# --- lxml's tree: text in tails, comments and the like as nodes -------------------------------


def test_text_after_a_comment_is_kept() -> None:
    """In lxml a comment is a node and the text after it is its tail: page text, in every
    context that walks children (inline flow, lists, pre and code, cells, ranges)."""
    assert md("<p>Before<!-- note -->after</p><!-- c --><p>Next</p>") == "Beforeafter\n\nNext\n"
    assert md("<ul><li>one</li><!-- c -->loose<li>two</li></ul>") == "- one\n- loose\n- two\n"
    assert md("<pre>a<!-- c -->\n  b</pre><p>Call <code>x<!--c-->y</code>.</p>") == (
        "```\na\n  b\n```\n\nCall `xy`.\n"
    )
    assert md("<table><tr><td>a<!--c-->b</td><td>c</td></tr></table>") == (
        "| ab | c |\n| --- | --- |\n"
    )
    html = "<h2 id=a>A</h2><!-- c -->tail text<h2 id=b>B</h2>"
    assert md(html, select=[RangeSelector(start_after="#a", end_before="#b")]) == "tail text\n"
    html = "<h2 id=a>A</h2><p>x<!-- c -->tail text</p><h2 id=b>B</h2>"
    assert md(html, remove=[RangeSelector(start_after="#a", end_before="#b")]) == "## A\n\n## B\n"


def test_an_xml_declaration_or_meta_charset_does_not_redecode_the_text() -> None:
    """lxml refuses a `str` with an XML encoding declaration; and once decoded, the text is not
    decoded again by what the page declares."""
    html = '<?xml version="1.0" encoding="iso-8859-1"?><p>Café “quoted”</p>'
    assert md(html) == "Café “quoted”\n"
    assert md(html.encode()) == "Café “quoted”\n"
    assert md('<meta charset="iso-8859-1"><p>Café</p>') == "Café\n"


def test_processing_instructions_are_not_text_but_their_tail_is() -> None:
    html = "<p>a<?php echo 'x'; ?>b</p><?xml-stylesheet href='s.css'?><p>c</p>"
    assert md(html) == "ab\n\nc\n"


def test_entities_are_text() -> None:
    html = "<p>AT&amp;T &copy; 2024&nbsp;&#8220;x&#x201D; &bogus; &amp &lt;tag&gt;</p>"
    assert md(html) == "AT&T © 2024\u00a0“x” &bogus; & <tag>\n"


def test_processing_instruction_and_entity_nodes_render_only_their_tail() -> None:
    """Nodes the HTML parser of this libxml2 does not make (it turns processing instructions
    into comments and resolves entities), but whose `.text` is markup (`&nbsp;` for an entity):
    built by hand, to hold the renderer to lxml's node model whatever the parser."""
    root = etree.fromstring("<html><body><p>a</p></body></html>", etree.HTMLParser())
    paragraph = root.find("body/p")
    assert paragraph is not None
    for node, tail in ((etree.PI("php", "echo 1;"), "b"), (etree.Entity("nbsp"), "c")):
        node.tail = tail
        paragraph.append(node)
    document = _Document([root], [root])
    assert [block.text for block in _Renderer(None, frozenset()).blocks(document)] == ["abc"]


def test_content_after_the_closing_html_tag_can_be_selected() -> None:
    """libxml2 puts what follows `</html>` in a second `html` element, beside the first."""
    html = "<main><p>Terms</p></main></html><div id=late><p>Late</p></div>"
    assert md(html, select=["main", "#late"]) == "Terms\n\nLate\n"
    assert md(html) == "Terms\n"  # without a selection, the (first) body


def test_pathologically_deep_pages_keep_odd_attributes_and_later_elements() -> None:
    """Past libxml2's depth limit the tree is built from the parser's events: attribute names
    only HTML allows, and the elements after `</html>`, are kept as above the limit."""
    deep = "<div>" * 3000 + "deep" + "</div>" * 3000
    html = f"<p @click='x' :class='y'>odd</p>{deep}</html><p>after</p>"
    assert md(html) == "odd\n\ndeep\n"
    assert md(html, select=["p"]) == "odd\n\nafter\n"


def test_a_selector_cssselect_cannot_translate_raises_its_error() -> None:
    with pytest.raises(SelectorError):
        md("<p>Terms</p>", select=["p::before"])


# --- Real page excerpts (from ../shared/corpus, Open Terms Archive, CC-BY) ----------------------


@pytest.mark.parametrize(
    ("name", "select", "remove", "url"),
    [
        (
            "openai-eu-terms",
            ["main"],
            ['select[name="Locale Select"]', "main .sr-only"],
            "https://openai.com/policies/eu-terms-of-use/",
        ),
        (
            "google-terms",
            ['[role="article"]'],
            ["img[src$='.svg']"],
            "https://policies.google.com/terms?hl=en-GB&gl=IE",
        ),
        ("anthropic-aup", ["main"], [], "https://www.anthropic.com/legal/aup"),
    ],
)
def test_real_excerpts_match_their_reviewed_markdown(
    name: str, select: list[str], remove: list[str], url: str
) -> None:
    html = (FIXTURES / f"{name}.html").read_bytes()
    expected = (FIXTURES / f"{name}.md").read_text(encoding="utf-8")
    assert md(html, select=select, remove=remove, url=url) == expected


def test_real_excerpt_openai_drops_screen_reader_text_and_locale_picker() -> None:
    out = md(
        (FIXTURES / "openai-eu-terms.html").read_bytes(),
        select=["main"],
        remove=['select[name="Locale Select"]', "main .sr-only"],
        url="https://openai.com/policies/eu-terms-of-use/",
    )
    assert "Select language" not in out and "| OpenAI" not in out
    assert "OpenAI ©" not in out  # the footer is outside the selection
    assert "# Europe Terms of Use\n" in out
    assert "[previous version](https://openai.com/policies/dec-2024-eu-terms/)" in out


def test_an_extracted_page_leaves_no_reference_cycle() -> None:
    """A page's tree is freed as soon as its text is out, by reference counting: a cycle (the
    renderer once held its own bound methods) kept every tree until the collector's next pass,
    which the crawl makes rare (crawlers/runner.py)."""
    probe = (
        "import gc, sys; from crawlers.extraction import extract_markdown; "
        "body = open(sys.argv[1], 'rb').read(); gc.collect(); gc.disable(); "
        "extract_markdown(body, select=['[role=article]'], remove=['a'], url='https://x.test/'); "
        "print(gc.collect())"
    )
    page = str(FIXTURES / "google-terms.html")
    run = subprocess.run([sys.executable, "-c", probe, page], capture_output=True, text=True)
    assert (run.returncode, run.stdout.strip()) == (0, "0"), run.stderr


def test_real_excerpt_google_nested_list_table_and_close_button() -> None:
    out = md(
        (FIXTURES / "google-terms.html").read_bytes(),
        select=['[role="article"]'],
        remove=["img[src$='.svg']"],
        url="https://policies.google.com/terms?hl=en-GB&gl=IE",
    )
    assert "- accessing or using our services or content in fraudulent" in out
    assert "\n    - phishing\n" in out
    assert "| Country | Phone number |\n| --- | --- |\n| Austria | 0800 001180 |" in out
    assert "[Archived versions](https://policies.google.com/terms/archive?hl=en-GB&gl=IE)" in out
    assert "close" not in out.lower().split()


def test_real_excerpt_anthropic_accordion_titles_are_kept() -> None:
    out = md((FIXTURES / "anthropic-aup.html").read_bytes(), select=["main"])
    assert "\n\nDo Not Violate Applicable Laws or Engage in Illegal Activity\n\n" in out
    assert "Cookie settings" not in out and "main{color" not in out


# --- Properties -------------------------------------------------------------------------------

_TAGS = st.sampled_from(
    [
        "p", "div", "span", "b", "em", "a href='/x?utm_source=y&k=v'", "a href='javascript:x'",
        "a", "ul", "ol start='3'", "li", "table", "tr", "td", "th", "pre", "code", "br", "h2",
        "blockquote", "script", "style", "button", "button aria-expanded='true'", "dl", "dd",
        "hr", "img alt='x'", "section hidden", "div aria-hidden='true'", "!--", "![CDATA[",
    ]
)  # fmt: skip
_HTML = st.lists(
    st.one_of(
        st.text(max_size=12),
        _TAGS.map(lambda tag: f"<{tag}>"),
        _TAGS.map(lambda tag: f"</{tag.split()[0]}>"),
    ),
    max_size=40,
).map("".join)


def _assert_normal_form(out: str) -> None:
    lines = out.split("\n")
    assert out.endswith("\n") and not out.endswith("\n\n")
    assert all(line == line.rstrip() for line in lines)
    assert "\n\n\n" not in out
    assert unicodedata.is_normalized("NFC", out)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.one_of(_HTML, st.text(), st.binary()),
    select=st.sampled_from([(), ("p",), ("li", "td"), ("div span",)]),
    remove=st.sampled_from([(), ("b",), ("ul", "table")]),
    encoding=st.sampled_from([None, "utf-8", "latin-1", "utf-16", "bogus"]),
)
def test_any_input_gives_normal_markdown_or_an_extraction_error(
    body: str | bytes, select: tuple[str, ...], remove: tuple[str, ...], encoding: str | None
) -> None:
    try:
        out = md(body, select=select, remove=remove, url=PAGE, encoding=encoding)
    except ExtractionError as error:
        assert error.kind in {"selector-matched-nothing", "empty-text", "not-html"}
        return
    _assert_normal_form(out)
    assert out == md(body, select=select, remove=remove, url=PAGE, encoding=encoding)


# --- Frames -----------------------------------------------------------------------------------


def test_a_page_that_shows_its_policy_in_a_frame_says_where() -> None:
    """Its header and footer were recorded as the policy, which was never tracked."""
    framed = '<body><header>Acme</header><iframe src="/embed/terms"></iframe><p>© Acme</p></body>'
    frameset = '<frameset><frame src="menu.html"><frame src="terms.html"></frameset>'
    said = "the page shows its text in a frame: declare the address of the frame that holds"
    for page, frames in [
        (framed, "https://example.com/embed/terms"),
        (frameset, "https://example.com/legal/menu.html, https://example.com/legal/terms.html"),
    ]:
        with pytest.raises(ExtractionError) as caught:
            md(page, url=PAGE)
        assert (caught.value.kind, str(caught.value)) == (
            "framed",
            f"{said} the policy instead ({frames})",
        )


def test_frames_a_page_does_not_show_or_beside_its_policy_are_no_policy_frame() -> None:
    # A tag manager's, in most pages' <noscript>, and hidden or zero-sized ones.
    tracking = [
        '<noscript><iframe src="https://www.googletagmanager.com/ns.html?id=GTM-1"></iframe>'
        "</noscript>",
        '<iframe src="/pixel" style="display: none"></iframe>',
        '<iframe src="/pixel" width="0" height="0"></iframe>',
        '<iframe src="/pixel" hidden></iframe>',
        '<iframe src="about:blank"></iframe>',
    ]
    for frame in tracking:
        assert md(f"<body>{frame}<p>Short terms.</p></body>") == "Short terms.\n"
    assert md('<main><p>Terms.</p></main><iframe src="/ad"></iframe>', select=["main"]) == (
        "Terms.\n"
    )
    policy = "<p>" + "The developer agrees to the terms. " * 30 + "</p>"
    assert md(f'<body>{policy}<iframe src="https://video.example/embed"></iframe></body>')


def test_a_cookie_consent_banner_is_no_part_of_the_policy() -> None:
    """A script-built page carries its consent platform's banner in its rendered HTML: without a
    `select`, its text was recorded with the policy's, every rewording of it a change."""
    banners = [
        '<div id="onetrust-consent-sdk"><div id="onetrust-banner-sdk"><p>We use cookies to'
        " improve your experience.</p><button>Accept All Cookies</button></div></div>",
        '<div id="CybotCookiebotDialog"><h2>This website uses cookies</h2></div>',
        '<div id="usercentrics-root"><p>Privacy settings</p></div>',
    ]
    for banner in banners:
        page = f"<body><main><h1>Terms</h1><p>You may call the API.</p></main>{banner}</body>"
        assert md(page) == "# Terms\n\nYou may call the API.\n"
