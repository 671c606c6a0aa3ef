//! What the next reply must be, as the input's commands set it: `/json` (one JSON object),
//! `/json {schema}` (one JSON value valid under the schema typed), `/regex RE` (the whole reply
//! matches), `/plain` (free text, even where the profile or the template constrains replies).
//! Without a command the template's or the profile's `json_schema` / `regex` apply. Pure: the
//! constraint is compiled here and carried to the engine by `Effect::Generate`.
use crate::sampling::constrained::OutputConstraint;

/// The next reply's constraint as the user set it.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum NextOutput {
    /// The template's or the profile's (free text when neither has one).
    #[default]
    Default,
    Constrained(OutputConstraint),
    /// Free text, whatever the profile says.
    Free,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutputState {
    pub next: NextOutput,
}

impl OutputState {
    /// The constraint of the reply now starting, with `configured` (the template's or the
    /// profile's) where no command said otherwise; a command counts for one reply.
    pub fn take_for_reply(
        &mut self,
        configured: Option<OutputConstraint>,
    ) -> Option<OutputConstraint> {
        match std::mem::take(&mut self.next) {
            NextOutput::Default => configured,
            NextOutput::Constrained(c) => Some(c),
            NextOutput::Free => None,
        }
    }

    /// What the input's title says about the next reply, if anything.
    pub fn label(&self, configured: Option<&str>) -> Option<String> {
        match &self.next {
            NextOutput::Default => configured.map(str::to_string),
            NextOutput::Constrained(c) => Some(format!("next: {}", c.label)),
            NextOutput::Free => configured.map(|_| "next: free text".to_string()),
        }
    }
}

/// `/json`, `/json SCHEMA`, `/regex RE` or `/plain`; `None` for anything else (a chat message),
/// `Some(Err)` for a command whose schema or expression cannot be used.
pub fn parse_command(text: &str) -> Option<Result<NextOutput, String>> {
    let text = text.trim();
    let (command, rest) = match text.split_once(char::is_whitespace) {
        Some((c, rest)) => (c, rest.trim()),
        None => (text, ""),
    };
    match command {
        "/json" if rest.is_empty() => Some(Ok(NextOutput::Constrained(
            OutputConstraint::any_object("JSON object"),
        ))),
        "/json" => Some(
            OutputConstraint::json_schema(rest, "JSON Schema")
                .map(NextOutput::Constrained)
                .map_err(|e| format!("/json: {e}")),
        ),
        "/regex" if rest.is_empty() => Some(Err("usage: /regex EXPRESSION".into())),
        "/regex" => Some(
            OutputConstraint::regex(rest, format!("regex {rest}"))
                .map(NextOutput::Constrained)
                .map_err(|e| format!("/regex: {e}")),
        ),
        "/plain" if rest.is_empty() => Some(Ok(NextOutput::Free)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_arm_one_reply() {
        let Some(Ok(NextOutput::Constrained(c))) = parse_command("/json") else {
            panic!("/json arms any object")
        };
        assert!(c.regex.is_full_match(br#"{"a": 1}"#));
        let schema = r#"/json {"type": "array", "items": {"type": "boolean"}, "maxItems": 2}"#;
        let Some(Ok(NextOutput::Constrained(c))) = parse_command(schema) else {
            panic!("/json SCHEMA arms the schema")
        };
        assert!(c.regex.is_full_match(b"[true]") && !c.regex.is_full_match(b"[1]"));
        let Some(Ok(NextOutput::Constrained(r))) = parse_command("/regex (yes|no)") else {
            panic!("/regex arms the expression")
        };
        assert_eq!(r.label, "regex (yes|no)");
        assert_eq!(parse_command("/plain"), Some(Ok(NextOutput::Free)));
        // Not commands: chat messages.
        assert_eq!(parse_command("/jsonify this"), None);
        assert_eq!(parse_command("json please"), None);
        assert_eq!(parse_command("/plain text please"), None);
        // Bad ones say why.
        assert!(parse_command("/json {not json").unwrap().is_err());
        assert!(parse_command("/regex").unwrap().is_err());
        let e = parse_command("/regex (a").unwrap().unwrap_err();
        assert!(e.starts_with("/regex:"), "{e}");

        let profile = OutputConstraint::regex("x", "regex (profile p)").unwrap();
        let mut s = OutputState::default();
        assert_eq!(
            s.label(Some("regex (profile p)")).as_deref(),
            Some("regex (profile p)")
        );
        s.next = NextOutput::Free;
        assert_eq!(s.label(Some("p")).as_deref(), Some("next: free text"));
        assert_eq!(s.take_for_reply(Some(profile.clone())), None);
        // One reply only: the next goes back to the profile's.
        assert_eq!(
            s.take_for_reply(Some(profile.clone())),
            Some(profile.clone())
        );
        s.next = NextOutput::Constrained(c.clone());
        assert_eq!(s.take_for_reply(Some(profile)), Some(c));
        assert_eq!(s.next, NextOutput::Default);
    }
}
