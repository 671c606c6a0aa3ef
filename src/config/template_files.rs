//! The templates on disk: the built-ins embedded from the repository's `templates/` folder, with
//! the user's `<config dir>/templates/NAME.md` files over them (same name: the user's wins).
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::templates::{PromptVars, Template, TemplateError};
use crate::engine::Dialogue;

/// The templates that ship with the binary.
pub const BUILTIN_TEMPLATES: [(&str, &str); 7] = [
    ("default", include_str!("../../templates/default.md")),
    ("coding", include_str!("../../templates/coding.md")),
    ("creative", include_str!("../../templates/creative.md")),
    ("technical", include_str!("../../templates/technical.md")),
    ("concise", include_str!("../../templates/concise.md")),
    ("rag", include_str!("../../templates/rag.md")),
    ("dialogue", include_str!("../../templates/dialogue.md")),
];

/// The transcript template a base model chats through.
pub const DIALOGUE_TEMPLATE: &str = "dialogue";

/// A template file larger than this is refused (a prompt template is a few hundred bytes).
pub const MAX_TEMPLATE_BYTES: u64 = 256 * 1024;

/// Where a template came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateSource {
    Builtin,
    /// The user's file overrides a built-in of the same name.
    Modified,
    User,
}

impl TemplateSource {
    pub fn label(self) -> &'static str {
        match self {
            TemplateSource::Builtin => "built-in",
            TemplateSource::Modified => "modified",
            TemplateSource::User => "yours",
        }
    }
}

/// Every usable template, and why the others are not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TemplateSet {
    pub templates: BTreeMap<String, (Template, TemplateSource)>,
    /// Broken user files (a broken override leaves the built-in in place).
    pub errors: Vec<TemplateError>,
}

impl TemplateSet {
    /// The built-ins alone (they are tested to parse).
    pub fn builtin() -> Self {
        let mut set = Self::default();
        for (name, text) in BUILTIN_TEMPLATES {
            let file = format!("templates/{name}.md (built-in)");
            let t = Template::parse(name, &file, text).expect("built-in templates parse");
            set.templates
                .insert(name.to_string(), (t, TemplateSource::Builtin));
        }
        set
    }

    pub fn get(&self, name: &str) -> Result<&Template, String> {
        self.templates.get(name).map(|(t, _)| t).ok_or_else(|| {
            format!(
                "unknown template `{name}` (known: {})",
                self.templates
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    }

    /// The user-turn templates (a transcript template is not one).
    pub fn names(&self) -> Vec<String> {
        self.templates
            .iter()
            .filter(|(_, (t, _))| t.meta.dialogue.is_none())
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// The transcript a base model continues: the `dialogue` template rendered with the system
    /// prompt in effect (and `vars`' model, profile and timestamp).
    pub fn dialogue(&self, vars: &PromptVars) -> Result<Dialogue, String> {
        let template = self.get(DIALOGUE_TEMPLATE)?;
        let Some(meta) = &template.meta.dialogue else {
            return Err(format!(
                "template `{DIALOGUE_TEMPLATE}` ({}) has no [dialogue] table with `user` and \
                 `assistant`",
                template.file
            ));
        };
        let mut preamble = template.render(vars).map_err(|e| e.to_string())?;
        if !preamble.is_empty() {
            preamble.push('\n');
        }
        Ok(Dialogue {
            preamble,
            user: meta.user.clone(),
            assistant: meta.assistant.clone(),
            stop: template.meta.stop.clone(),
        })
    }
}

/// `<config dir>/templates`.
pub fn templates_dir(config_dir: &Path) -> PathBuf {
    config_dir.join("templates")
}

/// The built-ins with the user's `*.md` files over them. A missing folder is not an error.
pub fn load_templates(config_dir: &Path) -> TemplateSet {
    let mut set = TemplateSet::builtin();
    let dir = templates_dir(config_dir);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return set;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    for path in files {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        match read_template(&name, &path) {
            Ok(t) => {
                let source = if set.templates.contains_key(&name)
                    && BUILTIN_TEMPLATES.iter().any(|(n, _)| *n == name)
                {
                    TemplateSource::Modified
                } else {
                    TemplateSource::User
                };
                set.templates.insert(name, (t, source));
            }
            Err(e) => {
                tracing::warn!("{e}");
                set.errors.push(e);
            }
        }
    }
    set
}

fn read_template(name: &str, path: &Path) -> Result<Template, TemplateError> {
    let file = path.display().to_string();
    let err = |message: String| TemplateError {
        template: name.to_string(),
        file: file.clone(),
        line: None,
        column: None,
        message,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(format!("cannot read it: {e}")))?;
    if !meta.is_file() {
        return Err(err("not a regular file".into()));
    }
    if meta.len() > MAX_TEMPLATE_BYTES {
        return Err(err(format!(
            "{} bytes; a template holds at most {MAX_TEMPLATE_BYTES}",
            meta.len()
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| err(format!("cannot read it: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        err(format!(
            "not UTF-8 (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    let mut t = Template::parse(name, &file, &text)?;
    if t.meta.name.is_empty() {
        t.meta.name = name.to_string();
    } else if t.meta.name != name {
        return Err(TemplateError {
            line: Some(2),
            ..err(format!(
                "its front matter names it `{}` but the file is {name}.md; the file name is the \
                 template's name",
                t.meta.name
            ))
        });
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse_and_are_named_after_their_files() {
        let set = TemplateSet::builtin();
        assert_eq!(set.templates.len(), 7);
        for (name, (t, _)) in &set.templates {
            assert_eq!(&t.meta.name, name);
        }
        // The transcript template is not offered as a user-turn template.
        assert_eq!(set.names().len(), 6);
        assert!(!set.names().contains(&DIALOGUE_TEMPLATE.to_string()));
    }

    #[test]
    fn the_dialogue_template_makes_a_transcript_with_the_system_prompt() {
        let set = TemplateSet::builtin();
        let plain = set.dialogue(&PromptVars::default()).unwrap();
        assert_eq!(plain.user, "User: ");
        assert_eq!(plain.assistant, "Assistant:");
        assert_eq!(plain.stop, vec!["\nUser:".to_string()]);
        assert!(
            plain.preamble.ends_with("eight legs.\n"),
            "{:?}",
            plain.preamble
        );
        let vars = PromptVars {
            system: "Answer in French.".into(),
            ..PromptVars::default()
        };
        let with_system = set.dialogue(&vars).unwrap();
        assert!(with_system
            .preamble
            .starts_with("The following is a conversation"));
        assert!(with_system
            .preamble
            .contains("correctly. Answer in French.\n"));
        assert!(!plain.preamble.contains("French"));
    }

    #[test]
    fn a_dialogue_override_without_its_table_is_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let tdir = templates_dir(dir.path());
        std::fs::create_dir_all(&tdir).unwrap();
        std::fs::write(tdir.join("dialogue.md"), "+++\n+++\nA chat.").unwrap();
        let set = load_templates(dir.path());
        let e = set.dialogue(&PromptVars::default()).unwrap_err();
        assert!(e.contains("no [dialogue] table"), "{e}");
    }

    #[test]
    fn user_files_overlay_and_broken_ones_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let tdir = templates_dir(dir.path());
        std::fs::create_dir_all(&tdir).unwrap();
        std::fs::write(tdir.join("mine.md"), "+++\n+++\nHi {query}").unwrap();
        std::fs::write(tdir.join("concise.md"), "+++\n+++\nShort: {query}").unwrap();
        std::fs::write(tdir.join("coding.md"), "+++\n+++\n{nope}").unwrap();
        std::fs::write(tdir.join("notes.txt"), "ignored").unwrap();
        let set = load_templates(dir.path());
        assert_eq!(set.templates["mine"].1, TemplateSource::User);
        assert_eq!(set.templates["concise"].1, TemplateSource::Modified);
        assert_eq!(set.templates["coding"].1, TemplateSource::Builtin);
        assert_eq!(set.errors.len(), 1);
        assert!(set.errors[0].message.contains("`nope`"));
        assert_eq!(set.errors[0].line, Some(3));
    }
}
