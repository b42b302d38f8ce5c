//! Python bindings for `textstats`, built as the extension module `textstats_py` by maturin
//! (`pip install ./crates/textstats-py`).
//!
//! This crate is an example of the Python-bound crates that `cargo xtask coverage-fast` leaves
//! out: its tests start an embedded interpreter and call the module through Python.

use pyo3::prelude::*;

/// Number of words in `text`.
#[pyfunction]
fn word_count(text: &str) -> usize {
    textstats::Stats::of(text).words()
}

/// The `n` most frequent words of `text` as `(word, count)` pairs, most frequent first.
#[pyfunction]
#[pyo3(signature = (text, n = 10))]
fn top_words(text: &str, n: usize) -> Vec<(String, usize)> {
    textstats::Stats::of(text).top(n).into_iter().map(|(word, count)| (word.to_owned(), count)).collect()
}

/// A text report of the `n` most frequent words. Not called by the tests, on purpose.
#[pyfunction]
#[pyo3(signature = (text, n = 10))]
fn report(text: &str, n: usize) -> String {
    textstats::Stats::of(text).report(n)
}

#[pymodule]
fn textstats_py(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(word_count, module)?)?;
    module.add_function(wrap_pyfunction!(top_words, module)?)?;
    module.add_function(wrap_pyfunction!(report, module)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use pyo3::types::PyDict;

    use super::*;

    /// Runs `script` with the module importable as `textstats_py`, as a Python user would see it.
    fn run_python(script: &std::ffi::CStr) {
        Python::attach(|py| {
            let module = pyo3::wrap_pymodule!(textstats_py)(py);
            let modules = py.import("sys").and_then(|sys| sys.getattr("modules")).unwrap();
            modules.set_item("textstats_py", module).unwrap();
            let locals = PyDict::new(py);
            if let Err(err) = py.run(script, None, Some(&locals)) {
                err.display(py);
                panic!("the Python test failed: {err}");
            }
        });
    }

    #[test]
    fn python_counts_words() {
        run_python(c"import textstats_py\nassert textstats_py.word_count('a b, c') == 3");
    }

    #[test]
    fn python_gets_top_words_with_default_and_explicit_n() {
        run_python(
            c"from textstats_py import top_words
text = 'to be or not to be'
assert top_words(text, 2) == [('be', 2), ('to', 2)], top_words(text, 2)
assert len(top_words(text)) == 4",
        );
    }

    #[test]
    fn python_sees_type_errors() {
        run_python(
            c"import textstats_py
try:
    textstats_py.word_count(42)
except TypeError:
    pass
else:
    raise AssertionError('expected TypeError')",
        );
    }
}
