//! Prompt templates: `templates/NAME.md` files with TOML front matter between `+++` lines and a
//! tinytemplate body. The body turns what the user typed (plus history, RAG context and the
//! template's own variables) into the text of the user turn the model sees.
//!
//! Pure: parsing, checking and rendering; the files are read in [`super::template_files`].
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The variables every template can use; a template adds its own in `[variables]`.
pub const BUILTIN_VARIABLES: [&str; 7] = [
    "query",
    "history",
    "rag_context",
    "timestamp",
    "profile",
    "model",
    "system",
];

/// What the front matter may say.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FrontMatter {
    pub name: String,
    pub description: String,
    /// Leads the user turn (Gemma has no system role); a profile's own system prompt wins.
    pub system_prompt: String,
    /// The profile this template suits (a hint shown by `template list` and the picker).
    pub profile: String,
    /// The template's own variables and their defaults (`--var k=v` overrides them).
    pub variables: BTreeMap<String, String>,
    /// Strings that end a reply made with this template (besides the profile's and the chat
    /// format's).
    pub stop: Vec<String>,
    /// Present in a transcript template (`dialogue.md`): the body is the preamble a base model
    /// continues, and these say how a turn is written.
    pub dialogue: Option<DialogueMeta>,
    /// Replies made with this template are one JSON value valid under this JSON Schema (its
    /// JSON text); over the profile's.
    pub json_schema: String,
    /// Replies made with this template match this regular expression as a whole.
    pub regex: String,
}

impl FrontMatter {
    /// The constraint its `json_schema` / `regex` keys give replies, if any.
    pub fn output(
        &self,
        name: &str,
    ) -> Result<Option<crate::sampling::constrained::OutputConstraint>, (&'static str, String)>
    {
        crate::sampling::constrained::OutputConstraint::from_keys(
            &self.json_schema,
            &self.regex,
            &format!("template {name}"),
        )
    }
}

/// How a transcript template writes a turn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialogueMeta {
    /// Leads a user line, e.g. `User: `.
    pub user: String,
    /// Hands over to the model, e.g. `Assistant:`.
    pub assistant: String,
}

/// One parsed, checked template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub meta: FrontMatter,
    pub body: String,
    /// Where it came from ("templates/coding.md (built-in)" or a path), for errors.
    pub file: String,
    /// 1-based line of the file where the body starts (tinytemplate counts from the body).
    body_line: usize,
}

/// A template that cannot be used, with its position in the file when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub template: String,
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "template `{}` ({}", self.template, self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        write!(f, "): {}", self.message)
    }
}

impl std::error::Error for TemplateError {}

/// The values a template is rendered with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PromptVars {
    pub query: String,
    /// Earlier turns as "You: …\nGemma: …" lines.
    pub history: String,
    /// Memories chosen for this prompt (empty when RAG is off).
    pub rag_context: String,
    pub timestamp: String,
    pub profile: String,
    pub model: String,
    /// The system prompt in effect (the profile's, else the template's).
    pub system: String,
    /// Values for the template's own variables (over its defaults).
    pub extra: BTreeMap<String, String>,
}

const FENCE: &str = "+++";

impl Template {
    /// Parses `text` (named `name`, from `file`) and checks that the body compiles and uses only
    /// known variables, so a broken template is reported when it is loaded, not when it is used.
    pub fn parse(name: &str, file: &str, text: &str) -> Result<Self, TemplateError> {
        let err = |line: Option<usize>, column: Option<usize>, message: String| TemplateError {
            template: name.to_string(),
            file: file.to_string(),
            line,
            column,
            message,
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = text.split_inclusive('\n');
        let first = lines.next().unwrap_or("");
        if first.trim_end() != FENCE {
            return Err(err(
                Some(1),
                Some(1),
                "a template starts with a `+++` line, then TOML front matter, then `+++`".into(),
            ));
        }
        let mut front = String::new();
        let mut consumed = first.len();
        let mut line_no = 1;
        let mut closed = false;
        for line in lines.by_ref() {
            consumed += line.len();
            line_no += 1;
            if line.trim_end() == FENCE {
                closed = true;
                break;
            }
            front.push_str(line);
        }
        if !closed {
            return Err(err(
                None,
                None,
                "the front matter has no closing `+++`".into(),
            ));
        }
        let meta: FrontMatter = toml::from_str(&front).map_err(|e| {
            let (line, col) = e
                .span()
                .map(|s| super::pure::line_col(&front, s.start))
                .unwrap_or((0, 0));
            err(
                (line > 0).then_some(line + 1),
                (col > 0).then_some(col),
                e.message().trim().replace('\n', "; "),
            )
        })?;
        for var in meta.variables.keys() {
            if BUILTIN_VARIABLES.contains(&var.as_str()) {
                let msg = format!("variable `{var}` is built in and cannot be redefined");
                return Err(err(None, None, msg));
            }
            if !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || var.is_empty() {
                let msg = format!("variable name `{var}`: use letters, digits and `_`");
                return Err(err(None, None, msg));
            }
        }
        if let Err((key, msg)) = meta.output(name) {
            return Err(err(None, None, format!("`{key}`: {msg}")));
        }
        let template = Self {
            meta,
            body: text[consumed..].to_string(),
            file: file.to_string(),
            body_line: line_no + 1,
        };
        // Every variable filled (non-empty, so `if` branches are taken too): what is left to fail
        // is syntax and unknown names.
        let sample = PromptVars {
            query: "q".into(),
            history: "h".into(),
            rag_context: "r".into(),
            timestamp: "t".into(),
            profile: "p".into(),
            model: "m".into(),
            system: "s".into(),
            extra: BTreeMap::new(),
        };
        template.render_named(name, &sample)?;
        Ok(template)
    }

    /// Whether `--var key=...` means something to this template: a built-in variable or one of
    /// its own (a typo would otherwise be ignored silently).
    pub fn check_var(&self, key: &str) -> Result<(), TemplateError> {
        if BUILTIN_VARIABLES.contains(&key) || self.meta.variables.contains_key(key) {
            return Ok(());
        }
        Err(TemplateError {
            template: self.meta.name.clone(),
            file: self.file.clone(),
            line: None,
            column: None,
            message: format!("no variable `{key}` (known: {})", self.known_variables()),
        })
    }

    /// The built-in variables, then the template's own, for error messages.
    fn known_variables(&self) -> String {
        let own = self.meta.variables.keys().map(String::as_str);
        BUILTIN_VARIABLES
            .into_iter()
            .chain(own)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The user turn's text (without the blank lines a template's layout leaves at either end).
    pub fn render(&self, vars: &PromptVars) -> Result<String, TemplateError> {
        self.render_named(&self.meta.name, vars)
            .map(|s| s.trim().to_string())
    }

    fn render_named(&self, name: &str, vars: &PromptVars) -> Result<String, TemplateError> {
        let mut context = Map::new();
        for (k, v) in &self.meta.variables {
            context.insert(k.clone(), Value::String(v.clone()));
        }
        for (k, v) in &vars.extra {
            context.insert(k.clone(), Value::String(v.clone()));
        }
        for (k, v) in [
            ("query", &vars.query),
            ("history", &vars.history),
            ("rag_context", &vars.rag_context),
            ("timestamp", &vars.timestamp),
            ("profile", &vars.profile),
            ("model", &vars.model),
            ("system", &vars.system),
        ] {
            context.insert(k.into(), Value::String(v.clone()));
        }
        let mut tt = tinytemplate::TinyTemplate::new();
        // Prompts are plain text: tinytemplate would HTML-escape `<`, `&` and quotes.
        tt.set_default_formatter(&tinytemplate::format_unescaped);
        tt.add_template(name, &self.body)
            .and_then(|_| tt.render(name, &Value::Object(context)))
            .map_err(|e| self.error(name, e))
    }

    /// tinytemplate's error with the file's line (not the body's) and the variable named.
    fn error(&self, name: &str, e: tinytemplate::error::Error) -> TemplateError {
        use tinytemplate::error::Error as E;
        let (line, column, message) = match e {
            E::ParseError { msg, line, column } => (Some(line), Some(column), msg),
            E::RenderError { msg, line, column } => {
                let message = match unknown_variable(&msg) {
                    Some(var) => {
                        format!(
                            "unknown variable `{var}` (known: {})",
                            self.known_variables()
                        )
                    }
                    None => msg,
                };
                (Some(line), Some(column), message)
            }
            other => (None, None, other.to_string()),
        };
        TemplateError {
            template: name.to_string(),
            file: self.file.clone(),
            line: line.map(|l| l + self.body_line - 1),
            column,
            message,
        }
    }
}

/// The variable in tinytemplate's "Failed to find value 'x' from path 'x'…".
fn unknown_variable(msg: &str) -> Option<&str> {
    let rest = msg.strip_prefix("Failed to find value '")?;
    rest.split('\'').next()
}

/// `{timestamp}`: now, UTC, RFC 3339 to the second.
pub fn timestamp_now() -> String {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl PromptVars {
    /// Sets a built-in variable by name, or one of the template's own.
    pub fn set(&mut self, key: &str, value: String) {
        match key {
            "query" => self.query = value,
            "history" => self.history = value,
            "rag_context" => self.rag_context = value,
            "timestamp" => self.timestamp = value,
            "profile" => self.profile = value,
            "model" => self.model = value,
            "system" => self.system = value,
            _ => {
                self.extra.insert(key.to_string(), value);
            }
        }
    }
}

/// The system prompt of a turn: the profile's when it has one, else the template's.
pub fn system_prompt<'a>(profile: Option<&'a str>, template: &'a Template) -> Option<&'a str> {
    profile
        .filter(|s| !s.trim().is_empty())
        .or(Some(template.meta.system_prompt.as_str()).filter(|s| !s.trim().is_empty()))
}

/// `k=v` pairs from the command line (`--var tone=formal`).
pub fn parse_var(arg: &str) -> Result<(String, String), String> {
    match arg.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("`{arg}` is not KEY=VALUE")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Template, TemplateError> {
        Template::parse("t", "t.md", text)
    }

    #[test]
    fn output_keys_are_checked_when_the_template_loads() {
        let t = parse("+++\nregex = '(yes|no)'\n+++\n{query}").unwrap();
        let c = t.meta.output("t").unwrap().unwrap();
        assert_eq!(c.label, "regex (template t)");
        let e = parse("+++\njson_schema = '{\"anyOf\": []}'\n+++\n{query}").unwrap_err();
        assert!(e.message.starts_with("`json_schema`:"), "{e}");
        assert!(e.message.contains("anyOf"), "{e}");
    }

    #[test]
    fn renders_unescaped_with_own_variables_and_overrides() {
        let t = parse(
            "+++\nname = \"t\"\n[variables]\ntone = \"plain\"\n+++\n\
             {{ if rag_context }}Context:\n{rag_context}\n{{ endif }}[{tone}] {query}",
        )
        .unwrap();
        let mut vars = PromptVars {
            query: "is 1 < 2 & \"x\"?".into(),
            ..PromptVars::default()
        };
        assert_eq!(t.render(&vars).unwrap(), "[plain] is 1 < 2 & \"x\"?");
        vars.rag_context = "memo".into();
        vars.extra.insert("tone".into(), "formal".into());
        assert_eq!(
            t.render(&vars).unwrap(),
            "Context:\nmemo\n[formal] is 1 < 2 & \"x\"?"
        );
    }

    #[test]
    fn unknown_variable_is_named_with_the_file_line() {
        let e = parse("+++\nname = \"t\"\n+++\nfirst line\n{query} and {qeury}\n").unwrap_err();
        assert_eq!(e.line, Some(5), "{e}");
        assert!(e.message.starts_with("unknown variable `qeury`"), "{e}");
        assert!(e.to_string().starts_with("template `t` (t.md:5:"), "{e}");
    }

    #[test]
    fn syntax_errors_and_front_matter_errors_have_positions() {
        let e = parse("+++\nname = \"t\"\n+++\n{{ if query }}open\n").unwrap_err();
        assert!(e.line.is_some(), "{e}");
        let e = parse("+++\nname = \"t\"\nbogus = 1\n+++\n{query}").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.message.contains("unknown field `bogus`"), "{e}");
        let e = parse("no front matter").unwrap_err();
        assert_eq!(e.line, Some(1));
        let e = parse("+++\nname = \"t\"\n{query}").unwrap_err();
        assert!(e.message.contains("closing"), "{e}");
        let e = parse("+++\n[variables]\nquery = \"x\"\n+++\n{query}").unwrap_err();
        assert!(e.message.contains("built in"), "{e}");
    }

    #[test]
    fn var_arguments() {
        assert_eq!(parse_var("a=b=c").unwrap(), ("a".into(), "b=c".into()));
        assert!(parse_var("novalue").is_err());
        assert!(parse_var("=v").is_err());
    }
}
