"""The extension module as Python users call it. `cargo xtask coverage` runs these against an
instrumented build of the module, so what they reach counts in the same report as the Rust
tests: `report` is called from here only."""

import textstats_py


def test_counts_words():
    assert textstats_py.word_count("a b, c") == 3


def test_report_lists_the_most_frequent_words_and_how_many_more():
    lines = textstats_py.report("to be or not to be", 2).splitlines()
    assert [line.split()[:2] for line in lines[:2]] == [["be", "2"], ["to", "2"]], lines
    assert lines[2] == "... and 2 more", lines


def test_report_of_an_empty_text_is_empty():
    assert textstats_py.report("") == ""
