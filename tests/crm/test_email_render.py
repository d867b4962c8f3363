"""Templates' placeholders: found, filled, escaped in HTML only, subjects on one line."""

from __future__ import annotations

from crm.email.render import missing, render, render_subject, variables


def test_variables_are_the_names_used_sorted_once() -> None:
    assert variables(
        "Hi {{ contact.first_name }}", "<p>{{agent.name}} {{ contact.first_name }}</p>", ""
    ) == [
        "agent.name",
        "contact.first_name",
    ]


def test_text_that_only_looks_like_a_placeholder_is_left_alone() -> None:
    assert variables("{{ }} {{ a b }} {{1x}} { name }") == []
    assert render("{{ }} { name }", {}) == "{{ }} { name }"


def test_values_are_html_escaped_in_html_only() -> None:
    values = {"name": '<script>alert("x")</script> & co'}
    assert render("<p>{{ name }}</p>", values, escape=True) == (
        "<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co</p>"
    )
    assert render("Hello {{ name }}", values) == 'Hello <script>alert("x")</script> & co'


def test_a_value_is_not_rendered_again() -> None:
    assert render("{{ a }}", {"a": "{{ b }}", "b": "no"}) == "{{ b }}"


def test_a_subject_stays_on_one_line() -> None:
    assert render_subject("Hi {{ name }}", {"name": "Mia\r\nBcc: x@example.com"}) == (
        "Hi Mia Bcc: x@example.com"
    )


def test_missing_names_the_variables_nobody_provides() -> None:
    assert missing(["{{ a }} {{ b.c }}", "{{ d }}"], {"a": "1"}) == ["b.c", "d"]
