//! JUnit XML for `kubesim check` verdicts.
//!
//! # Layout (what CI systems read)
//!
//! ```xml
//! <?xml version="1.0" encoding="UTF-8"?>
//! <testsuites name="kubesim check" tests="2" failures="1" errors="0">
//!   <testsuite name="rolling-update" tests="2" failures="1" errors="0" skipped="0">
//!     <properties>
//!       <property name="seed" value="42"/>
//!     </properties>
//!     <testcase classname="rolling-update" name="rolloutCompletes web within 15m">
//!       <system-out>measured: 6m30s; expected: at most 15m</system-out>
//!     </testcase>
//!     <testcase classname="rolling-update" name="maxPendingTime 2m">
//!       <failure type="expectation" message="measured: 3m10s; expected: at most 2m">measured: 3m10s; expected: at most 2m</failure>
//!     </testcase>
//!   </testsuite>
//! </testsuites>
//! ```
//!
//! One `<testsuite>` per scenario, one `<testcase>` per `expect:` entry. A failed expectation gets
//! a `<failure>` and an expectation that could not be evaluated an `<error>`; the measured value is
//! always in the message. No `time` attributes: the file must be identical on every run, and wall
//! time is not. Text is escaped (`& < > " '`, and line breaks inside attributes); characters XML
//! 1.0 forbids (most C0 controls) are replaced by U+FFFD.

use std::io::Write;

use crate::error::ReportError;

/// The outcome of one expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The expectation holds.
    Pass,
    /// The expectation does not hold.
    Fail,
    /// The expectation could not be evaluated (e.g. it names a deployment the run never created).
    Error,
}

/// One `expect:` entry and how it fared.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectationResult {
    /// A readable name, e.g. `rolloutCompletes web within 15m`.
    pub name: String,
    /// The verdict.
    pub verdict: Verdict,
    /// The measured value, as text with units (`6m30s`, `0.93`).
    pub measured: String,
    /// What was expected, as text (`at most 15m`).
    pub expected: String,
}

impl ExpectationResult {
    /// `measured: …; expected: …`, the text every verdict carries.
    pub fn message(&self) -> String {
        format!("measured: {}; expected: {}", self.measured, self.expected)
    }
}

/// All verdicts of one scenario run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScenarioVerdicts {
    /// The scenario's `metadata.name`.
    pub scenario: String,
    /// Extra facts as `<property>` elements (seed, digest, file), in the given order.
    pub properties: Vec<(String, String)>,
    /// One result per expectation, in the scenario's order.
    pub expectations: Vec<ExpectationResult>,
}

impl ScenarioVerdicts {
    fn count(&self, verdict: Verdict) -> usize {
        self.expectations.iter().filter(|e| e.verdict == verdict).count()
    }
}

/// Escapes text for XML content or a double-quoted attribute value.
pub fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Kept as character references so attribute normalisation does not turn them into spaces.
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

/// XML 1.0 `Char` production.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        && !matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

/// The JUnit XML document for `suites`, as a string.
pub fn junit_xml(suites: &[ScenarioVerdicts]) -> String {
    let total: usize = suites.iter().map(|s| s.expectations.len()).sum();
    let failures: usize = suites.iter().map(|s| s.count(Verdict::Fail)).sum();
    let errors: usize = suites.iter().map(|s| s.count(Verdict::Error)).sum();
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str(&format!(
        "<testsuites name=\"kubesim check\" tests=\"{total}\" failures=\"{failures}\" errors=\"{errors}\">\n"
    ));
    for suite in suites {
        let name = escape_xml(&suite.scenario);
        x.push_str(&format!(
            "  <testsuite name=\"{name}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\">\n",
            suite.expectations.len(),
            suite.count(Verdict::Fail),
            suite.count(Verdict::Error),
        ));
        if !suite.properties.is_empty() {
            x.push_str("    <properties>\n");
            for (key, value) in &suite.properties {
                x.push_str(&format!(
                    "      <property name=\"{}\" value=\"{}\"/>\n",
                    escape_xml(key),
                    escape_xml(value)
                ));
            }
            x.push_str("    </properties>\n");
        }
        for case in &suite.expectations {
            x.push_str(&format!("    <testcase classname=\"{name}\" name=\"{}\">\n", escape_xml(&case.name)));
            let message = escape_xml(&case.message());
            match case.verdict {
                Verdict::Pass => {
                    x.push_str(&format!("      <system-out>{message}</system-out>\n"));
                }
                Verdict::Fail => x.push_str(&format!(
                    "      <failure type=\"expectation\" message=\"{message}\">{message}</failure>\n"
                )),
                Verdict::Error => x.push_str(&format!(
                    "      <error type=\"evaluation\" message=\"{message}\">{message}</error>\n"
                )),
            }
            x.push_str("    </testcase>\n");
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

/// Writes [`junit_xml`] to `out`.
pub fn write_junit<W: Write>(mut out: W, suites: &[ScenarioVerdicts]) -> Result<W, ReportError> {
    out.write_all(junit_xml(suites).as_bytes()).map_err(|e| ReportError::io("<junit>", e))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quick_xml::events::Event;
    use quick_xml::Reader;

    fn case(name: &str, verdict: Verdict, measured: &str, expected: &str) -> ExpectationResult {
        ExpectationResult { name: name.into(), verdict, measured: measured.into(), expected: expected.into() }
    }

    fn example() -> Vec<ScenarioVerdicts> {
        vec![
            ScenarioVerdicts {
                scenario: "rolling-update".into(),
                properties: vec![("seed".into(), "42".into())],
                expectations: vec![
                    case("rolloutCompletes web within 15m", Verdict::Pass, "6m30s", "at most 15m"),
                    case("maxPendingTime 2m", Verdict::Fail, "3m10s", "at most 2m"),
                ],
            },
            ScenarioVerdicts {
                scenario: "weird <&> \"name\"".into(),
                properties: vec![],
                expectations: vec![case(
                    "availabilityAtLeast a&b",
                    Verdict::Error,
                    "no such deployment 'a<b>'\nline2 \u{1}",
                    "ratio ≥ 0.9",
                )],
            },
        ]
    }

    #[test]
    fn the_documented_layout_is_produced_byte_for_byte() {
        let xml = junit_xml(&example()[..1]);
        let expected = concat!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
            "<testsuites name=\"kubesim check\" tests=\"2\" failures=\"1\" errors=\"0\">\n",
            "  <testsuite name=\"rolling-update\" tests=\"2\" failures=\"1\" errors=\"0\" skipped=\"0\">\n",
            "    <properties>\n",
            "      <property name=\"seed\" value=\"42\"/>\n",
            "    </properties>\n",
            "    <testcase classname=\"rolling-update\" name=\"rolloutCompletes web within 15m\">\n",
            "      <system-out>measured: 6m30s; expected: at most 15m</system-out>\n",
            "    </testcase>\n",
            "    <testcase classname=\"rolling-update\" name=\"maxPendingTime 2m\">\n",
            "      <failure type=\"expectation\" message=\"measured: 3m10s; expected: at most 2m\">measured: 3m10s; expected: at most 2m</failure>\n",
            "    </testcase>\n",
            "  </testsuite>\n",
            "</testsuites>\n",
        );
        assert_eq!(xml, expected);
    }

    type Node = (String, Vec<(String, String)>);

    /// Records a start or empty tag with its unescaped attributes; returns its name.
    fn element(e: &quick_xml::events::BytesStart<'_>, stack: &[String], out: &mut Vec<Node>) -> String {
        let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
        let attrs = e
            .attributes()
            .map(|a| {
                let a = a.expect("valid attribute");
                (
                    String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                    a.unescape_value().expect("valid escape").into_owned(),
                )
            })
            .collect();
        out.push((format!("{}/{}", stack.join("/"), name), attrs));
        name
    }

    /// Parses the document and returns (element path, attributes) for every start/empty tag plus
    /// the text of `failure`/`error` elements; fails on malformed XML.
    fn parse(xml: &str) -> Vec<Node> {
        let mut reader = Reader::from_str(xml);
        let mut stack: Vec<String> = Vec::new();
        let mut out = Vec::new();
        loop {
            match reader.read_event().expect("well-formed XML") {
                Event::Start(e) => {
                    let name = element(&e, &stack, &mut out);
                    stack.push(name);
                }
                Event::Empty(e) => {
                    element(&e, &stack, &mut out);
                }
                Event::End(e) => {
                    let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                    assert_eq!(stack.pop().as_deref(), Some(name.as_str()), "balanced tags");
                }
                Event::Text(t) => {
                    let text = t.unescape().expect("valid escape").into_owned();
                    if !text.trim().is_empty() {
                        out.push((format!("{}#text", stack.join("/")), vec![("".into(), text)]));
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        assert!(stack.is_empty(), "all elements closed");
        out
    }

    #[test]
    fn output_parses_back_with_the_expected_structure_and_values() {
        let xml = junit_xml(&example());
        let nodes = parse(&xml);
        let paths: Vec<&str> = nodes.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "/testsuites",
                "testsuites/testsuite",
                "testsuites/testsuite/properties",
                "testsuites/testsuite/properties/property",
                "testsuites/testsuite/testcase",
                "testsuites/testsuite/testcase/system-out",
                "testsuites/testsuite/testcase/system-out#text",
                "testsuites/testsuite/testcase",
                "testsuites/testsuite/testcase/failure",
                "testsuites/testsuite/testcase/failure#text",
                "testsuites/testsuite",
                "testsuites/testsuite/testcase",
                "testsuites/testsuite/testcase/error",
                "testsuites/testsuite/testcase/error#text",
            ]
        );
        let attr =
            |i: usize, key: &str| nodes[i].1.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap();
        assert_eq!(attr(0, "tests"), "3");
        assert_eq!(attr(0, "failures"), "1");
        assert_eq!(attr(0, "errors"), "1");
        // Escaped names come back verbatim.
        assert_eq!(attr(10, "name"), "weird <&> \"name\"");
        assert_eq!(attr(11, "name"), "availabilityAtLeast a&b");
        // The measured value is in the message; the forbidden control char became U+FFFD and the
        // line break survived attribute normalisation.
        assert_eq!(
            attr(12, "message"),
            "measured: no such deployment 'a<b>'\nline2 \u{FFFD}; expected: ratio ≥ 0.9"
        );
        assert_eq!(nodes[9].1[0].1, "measured: 3m10s; expected: at most 2m");
    }

    #[test]
    fn no_suites_is_still_a_valid_document() {
        let xml = junit_xml(&[]);
        let nodes = parse(&xml);
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].1[1], ("tests".to_string(), "0".to_string()));
    }

    #[test]
    fn write_junit_writes_the_same_bytes() {
        let bytes = write_junit(Vec::new(), &example()).unwrap();
        assert_eq!(bytes, junit_xml(&example()).into_bytes());
    }
}
