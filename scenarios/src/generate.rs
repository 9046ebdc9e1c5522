//! Stamping out copies: `copies:` on manifests, workloads and events, with `{{i}}` templates.
//!
//! A scale scenario has thousands of near-identical objects (1,500 Deployments, each with its
//! Service, HPA and workload entry). Instead of writing them out, a list entry says how many
//! copies to make and its strings name the copy number:
//!
//! ```yaml
//! manifests:
//!   - {path: manifests/scale-5k/app.yaml, copies: 1500}        # the file's text, 1,500 times
//! workloads:
//!   - {copies: 1500, selector: {app: "app-{{i}}"}, cpu: {constant: 100m}}
//! events:
//!   - {at: 1m, every: 10s, copies: 8640, rollout: {deployment: "app-{{i % 1500}}", image: "app:v{{i / 1500 + 2}}"}}
//! ```
//!
//! Copy `i` runs from 0 to `copies - 1`. `{{expr}}` is an integer expression over `i`: `i`
//! followed by any number of `+ N`, `- N`, `* N`, `/ N` (truncating) and `% N` terms, applied
//! left to right (`{{i / 1500 + 2}}` is `(i / 1500) + 2`). A scenario string that is exactly one
//! `{{…}}` becomes a number (`replicas: "{{i % 50 + 75}}"`). Events with `every: D` happen at
//! `at + i × D`. In manifest files the substitution is textual, before the YAML is parsed.
//!
//! Workload and event stamps are expanded on the YAML tree before the scenario is read; diagnostics
//! about an expanded entry name the entry of the file and the copy (`spec.events[0].at (copy 1234)`).

use std::path::Path;

use sim_core::SimDuration;
use yaml_serde::{Mapping, Value};

/// The key that asks for copies.
pub const COPIES: &str = "copies";
/// The key of an event stamp's spacing.
pub const EVERY: &str = "every";
/// At most this many copies of one entry (a typo guard: 10 million events would not fit anyway).
pub const MAX_COPIES: u64 = 1_000_000;

/// Evaluates one `{{…}}` expression for copy `i`.
pub fn eval(expr: &str, i: u64) -> Result<i64, String> {
    let bad = |why: &str| format!("template {{{{{expr}}}}}: {why}");
    let mut tokens = expr.split_whitespace().flat_map(split_ops).filter(|t| !t.is_empty());
    let first = tokens.next().ok_or_else(|| bad("empty"))?;
    let mut value: i64 = match first {
        "i" => i64::try_from(i).map_err(|_| bad("copy number too large"))?,
        n => n.parse().map_err(|_| bad("must start with i or a number"))?,
    };
    while let Some(op) = tokens.next() {
        let operand = tokens.next().ok_or_else(|| bad("an operator needs a number after it"))?;
        let n: i64 = match operand {
            "i" => i64::try_from(i).map_err(|_| bad("copy number too large"))?,
            n => n.parse().map_err(|_| bad(&format!("{n:?} is not an integer")))?,
        };
        value = match op {
            "+" => value.checked_add(n),
            "-" => value.checked_sub(n),
            "*" => value.checked_mul(n),
            "/" => value.checked_div(n),
            "%" => value.checked_rem(n),
            other => return Err(bad(&format!("unknown operator {other:?} (+ - * / %)"))),
        }
        .ok_or_else(|| bad("overflow or division by zero"))?;
    }
    Ok(value)
}

/// `i%3` → `i`, `%`, `3`: operators need no spaces around them.
fn split_ops(word: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (at, c) in word.char_indices() {
        if "+-*/%".contains(c) {
            out.push(&word[start..at]);
            out.push(&word[at..at + 1]);
            start = at + 1;
        }
    }
    out.push(&word[start..]);
    out
}

/// `text` with every `{{expr}}` replaced by its value for copy `i`.
pub fn substitute(text: &str, i: u64) -> Result<String, String> {
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or_else(|| format!("unclosed {{{{ in {text:?}"))?;
        out.push_str(&eval(&after[..close], i)?.to_string());
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `true` when the text has a `{{`: cheap test before walking a tree.
fn has_template(text: &str) -> bool {
    text.contains("{{")
}

/// Substitutes copy `i` into every string (keys included) of a YAML tree.
fn substitute_value(v: &Value, i: u64) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) if has_template(s) => {
            let trimmed = s.trim();
            let whole = trimmed.starts_with("{{")
                && trimmed.ends_with("}}")
                && trimmed[2..trimmed.len() - 2].find("{{").is_none()
                && trimmed[2..trimmed.len() - 2].find("}}").is_none();
            if whole {
                Value::Number(eval(&trimmed[2..trimmed.len() - 2], i)?.into())
            } else {
                Value::String(substitute(s, i)?)
            }
        }
        Value::Sequence(items) => {
            Value::Sequence(items.iter().map(|x| substitute_value(x, i)).collect::<Result<_, _>>()?)
        }
        Value::Mapping(m) => {
            let mut out = Mapping::with_capacity(m.len());
            for (k, x) in m {
                out.insert(substitute_value(k, i)?, substitute_value(x, i)?);
            }
            Value::Mapping(out)
        }
        other => other.clone(),
    })
}

fn copies_of(m: &Mapping, what: &str) -> Result<Option<u64>, String> {
    let Some(c) = m.get(COPIES) else { return Ok(None) };
    let n = c.as_u64().ok_or_else(|| format!("{what}: copies must be a non-negative integer"))?;
    if n > MAX_COPIES {
        return Err(format!("{what}: copies {n} is more than {MAX_COPIES}"));
    }
    Ok(Some(n))
}

fn duration_of(v: &Value, what: &str) -> Result<SimDuration, String> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => format!("{n}s"),
        _ => return Err(format!("{what}: expected a duration")),
    };
    text.parse::<SimDuration>().map_err(|e| format!("{what}: {e}"))
}

/// Where each entry of an expanded list came from: (entry of the file, copy number if stamped).
pub type Origins = Vec<(usize, Option<u64>)>;

/// Expands one list of `spec` in place; `every` is honoured for events only.
fn expand_list(list: &mut Vec<Value>, name: &str, events: bool) -> Result<Option<Origins>, String> {
    if !list.iter().any(|v| v.as_mapping().is_some_and(|m| m.contains_key(COPIES))) {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(list.len());
    let mut origins = Vec::with_capacity(list.len());
    for (index, item) in list.iter().enumerate() {
        let what = format!("spec.{name}[{index}]");
        let Some(m) = item.as_mapping() else {
            out.push(item.clone());
            origins.push((index, None));
            continue;
        };
        let Some(copies) = copies_of(m, &what)? else {
            out.push(item.clone());
            origins.push((index, None));
            continue;
        };
        let mut template = m.clone();
        template.remove(COPIES);
        let mut start = SimDuration::ZERO;
        let mut every = SimDuration::ZERO;
        if events {
            if let Some(e) = template.remove(EVERY) {
                every = duration_of(&e, &format!("{what}.every"))?;
            }
            if let Some(at) = template.get("at") {
                start = duration_of(at, &format!("{what}.at"))?;
            }
        }
        let template = Value::Mapping(template);
        for i in 0..copies {
            let mut copy = substitute_value(&template, i)?;
            if events && template.get("at").is_some() {
                let offset = every
                    .as_nanos()
                    .checked_mul(i)
                    .ok_or_else(|| format!("{what}: every × copies overflows"))?;
                let at = start.as_nanos().saturating_add(offset);
                if let Some(m) = copy.as_mapping_mut() {
                    m.insert(Value::String("at".into()), Value::String(format!("{at}ns")));
                }
            }
            out.push(copy);
            origins.push((index, Some(i)));
        }
    }
    *list = out;
    Ok(Some(origins))
}

/// An expanded scenario text and where its stamped list entries came from.
#[derive(Debug, Clone)]
pub struct Expanded {
    /// The scenario with every stamp written out.
    pub text: String,
    /// Per expanded list (`workloads`, `events`): the origin of each entry.
    pub origins: Vec<(&'static str, Origins)>,
}

impl Expanded {
    /// Points a diagnostic about the expanded text back at the file: `spec.events[1234].at`
    /// becomes `spec.events[0].at (copy 1234)` with the line of entry 0 in `original`.
    pub fn remap(&self, d: &mut crate::Diagnostic, original: &str, file: &str) {
        if d.file != file {
            return;
        }
        let Some(field) = d.field.clone() else {
            d.line = None;
            return;
        };
        d.line = None;
        for (name, origins) in &self.origins {
            let prefix = format!("spec.{name}[");
            let Some(rest) = field.strip_prefix(&prefix) else { continue };
            let Some((index, tail)) = rest.split_once(']') else { continue };
            let Some(&(orig, copy)) = index.parse::<usize>().ok().and_then(|i| origins.get(i)) else {
                continue;
            };
            let path = format!("{prefix}{orig}]{tail}");
            d.line =
                crate::locate::line_of(original, &crate::locate::FieldPath::parse(&path)).or_else(|| {
                    crate::locate::line_of(
                        original,
                        &crate::locate::FieldPath::parse(&format!("{prefix}{orig}]")),
                    )
                });
            d.field = Some(match copy {
                Some(c) => format!("{path} (copy {c})"),
                None => path,
            });
            return;
        }
        d.line = crate::locate::line_of(original, &crate::locate::FieldPath::parse(&field));
    }
}

/// The scenario text with its workload and event stamps expanded, or `None` when it has none
/// (the text is then read as is, and diagnostics keep their exact lines).
pub fn expand_stamps(text: &str) -> Result<Option<Expanded>, String> {
    // Cheap test first: most scenarios have no stamps.
    if !text.contains(COPIES) {
        return Ok(None);
    }
    let Ok(mut doc) = yaml_serde::from_str::<Value>(text) else {
        return Ok(None); // the normal parse reports the syntax error with its line
    };
    let Some(spec) = doc.get_mut("spec").and_then(Value::as_mapping_mut) else { return Ok(None) };
    let mut origins = Vec::new();
    for (name, events) in [("workloads", false), ("events", true)] {
        if let Some(list) = spec.get_mut(name).and_then(Value::as_sequence_mut) {
            if let Some(o) = expand_list(list, name, events)? {
                origins.push((name, o));
            }
        }
    }
    if origins.is_empty() {
        return Ok(None);
    }
    let text = yaml_serde::to_string(&doc).map_err(|e| e.to_string())?;
    Ok(Some(Expanded { text, origins }))
}

/// Loads `copies` copies of a manifest file, copy `i` with its `{{…}}` templates evaluated.
/// Each copy is named `<file> (copy i)` in diagnostics.
pub fn load_copies(path: &Path, copies: u64) -> Result<kubesim_manifests::Loaded, String> {
    if copies > MAX_COPIES {
        return Err(format!("copies {copies} is more than {MAX_COPIES}"));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut loaded = kubesim_manifests::Loaded::default();
    for i in 0..copies {
        let copy = substitute(&text, i).map_err(|e| format!("{}: {e}", path.display()))?;
        let origin = format!("{} (copy {i})", path.display());
        match kubesim_manifests::load_str(&copy, &origin) {
            Ok(l) => loaded.extend(l),
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_apply_left_to_right() {
        assert_eq!(eval("i", 7), Ok(7));
        // (3007 / 1500) + 2 = 4
        assert_eq!(eval("i / 1500 + 2", 3007), Ok(4));
        assert_eq!(eval("i%3", 8), Ok(2));
        assert_eq!(eval("i * 2 - 1", 5), Ok(9));
        assert!(eval("i / 0", 5).is_err());
        assert!(eval("i ^ 2", 5).is_err());
        assert!(eval("", 5).is_err());
    }

    #[test]
    fn substitution_replaces_every_template_in_text() {
        assert_eq!(substitute("app-{{i}}: {{i % 2}}", 3).unwrap(), "app-3: 1");
        assert!(substitute("app-{{i", 3).is_err());
    }

    #[test]
    fn event_stamps_expand_with_spacing_and_numbers() {
        let text = "spec:\n  events:\n    - {at: 1m, every: 10s, copies: 3, scale: {deployment: \"app-{{i}}\", replicas: \"{{i + 5}}\"}}\n    - {at: 2m, deletePod: {pod: x}}\n";
        let out = expand_stamps(text).unwrap().unwrap();
        let doc: Value = yaml_serde::from_str(&out.text).unwrap();
        let events = doc["spec"]["events"].as_sequence().unwrap();
        assert_eq!(events.len(), 4);
        // copy 2: 60 s + 2 × 10 s = 80 s
        assert_eq!(events[2]["at"].as_str(), Some("80000000000ns"));
        assert_eq!(events[2]["scale"]["deployment"].as_str(), Some("app-2"));
        assert_eq!(events[2]["scale"]["replicas"].as_i64(), Some(7));
        assert!(events[0].get("copies").is_none() && events[0].get("every").is_none());
        assert_eq!(events[3]["deletePod"]["pod"].as_str(), Some("x"));
    }

    #[test]
    fn text_without_stamps_is_left_alone() {
        assert!(expand_stamps("spec:\n  events: []\n").unwrap().is_none());
        assert!(expand_stamps("spec:\n  workloads: [{selector: {copies: x}}]\n").unwrap().is_none());
    }
}
