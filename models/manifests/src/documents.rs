//! YAML text → documents → typed `k8s-openapi` objects, collecting unknown fields.
//!
//! Each document is parsed once into a generic YAML value (so its `apiVersion`/`kind` can pick the
//! target type), then deserialized into the `k8s-openapi` type through `serde_ignored` (every
//! field the type does not know becomes a warning) and `serde_path_to_error` (a type error names
//! its field). Only when that fails is the document parsed a second time, straight into the
//! typed target, to learn the line of the offending value: the happy path pays one parse.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use yaml_serde::Value;

use crate::error::Location;

/// One YAML document of a file.
#[derive(Debug)]
pub(crate) struct Document {
    pub(crate) location: Location,
    pub(crate) value: Value,
}

/// A YAML syntax error, with its line when the parser knows it.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    pub(crate) location: Location,
    pub(crate) message: String,
}

/// Splits `text` into its documents. Empty documents (a stray `---`) are dropped.
pub(crate) fn split(text: &str, origin: &str) -> Result<Vec<Document>, SyntaxError> {
    let starts = document_start_lines(text);
    let mut parsed = Vec::new();
    for (index, doc) in yaml_serde::Deserializer::from_str(text).enumerate() {
        match Value::deserialize(doc) {
            Ok(value) => parsed.push(value),
            Err(e) => {
                let location = Location {
                    file: origin.to_string(),
                    document: index + 1,
                    line: e.location().map(|l| l.line()),
                };
                return Err(SyntaxError { location, message: strip_location(&e.to_string()) });
            }
        }
    }
    // Trust the scanned start lines only when they agree with the parser on the count.
    let lines_known = starts.len() == parsed.len();
    Ok(parsed
        .into_iter()
        .enumerate()
        .filter(|(_, v)| !v.is_null())
        .map(|(i, value)| Document {
            location: Location {
                file: origin.to_string(),
                document: i + 1,
                line: if lines_known { Some(starts[i]) } else { None },
            },
            value,
        })
        .collect())
}

/// yaml_serde appends " at line L column C"; the location is reported separately.
fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// The 1-based line where each document starts: each `---` marker line, and line 1 (or the first
/// content line) when content comes before the first marker.
fn document_start_lines(text: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut first_content: Option<usize> = None;
    let mut seen_marker = false;
    for (i, line) in text.lines().enumerate() {
        let is_marker =
            line.strip_prefix("---").is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']));
        if is_marker {
            seen_marker = true;
            starts.push(i + 1);
            continue;
        }
        let trimmed = line.trim();
        if !seen_marker
            && first_content.is_none()
            && !trimmed.is_empty()
            && !trimmed.starts_with('#')
            && !trimmed.starts_with('%')
        {
            first_content = Some(i + 1);
        }
    }
    if let Some(line) = first_content {
        starts.insert(0, line);
    }
    starts
}

/// A type error while decoding: field path and message.
#[derive(Debug)]
pub(crate) struct DecodeError {
    pub(crate) field: Option<String>,
    pub(crate) message: String,
}

/// Decodes `value` into `T`, appending the path of every ignored (unknown) field to `unknown`.
pub(crate) fn decode<T: DeserializeOwned>(value: Value, unknown: &mut Vec<String>) -> Result<T, DecodeError> {
    let mut record = |path: serde_ignored::Path<'_>| unknown.push(format_ignored_path(&path));
    let deserializer = serde_ignored::Deserializer::new(value, &mut record);
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        DecodeError {
            field: if path == "." { None } else { Some(path) },
            message: e.into_inner().to_string(),
        }
    })
}

/// Re-parses document `document` (1-based) of `text` straight into `T` to find the line of a type
/// error that [`decode`] reported.
pub(crate) fn locate_type_error<T: DeserializeOwned>(text: &str, document: usize) -> Option<usize> {
    let doc = yaml_serde::Deserializer::from_str(text).nth(document.checked_sub(1)?)?;
    match serde_path_to_error::deserialize::<_, T>(doc) {
        Ok(_) => None,
        Err(e) => e.inner().location().map(|l| l.line()),
    }
}

/// `spec.containers[0].foo` from serde_ignored's path.
fn format_ignored_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", format_ignored_path(parent)),
        Path::Map { parent, key } => {
            let parent = format_ignored_path(parent);
            if parent.is_empty() {
                key.clone()
            } else {
                format!("{parent}.{key}")
            }
        }
        Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => {
            format_ignored_path(parent)
        }
    }
}

/// A string field of a generic document value (`kind`, `apiVersion`, `metadata.name`).
pub(crate) fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut v = value;
    for key in path {
        v = v.get(*key)?;
    }
    v.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_split_with_their_start_lines() {
        let text = "# comment\nkind: A\n---\nkind: B\n---\n---\nkind: C\n";
        let docs = split(text, "f.yaml").unwrap();
        let seen: Vec<(usize, Option<usize>)> =
            docs.iter().map(|d| (d.location.document, d.location.line)).collect();
        // Document 3 is empty and dropped; document 4 starts at the second consecutive marker.
        assert_eq!(seen, vec![(1, Some(2)), (2, Some(3)), (4, Some(6))]);
    }

    #[test]
    fn a_leading_marker_does_not_make_an_empty_document() {
        let docs = split("---\nkind: A\n", "f").unwrap();
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].location.line, Some(1));
    }

    #[test]
    fn syntax_errors_carry_a_line() {
        let err = split("kind: A\n---\nkind: [unclosed\n", "f.yaml").unwrap_err();
        assert_eq!(err.location.document, 2);
        assert!(err.location.line.is_some_and(|l| l >= 3), "{err:?}");
    }
}
