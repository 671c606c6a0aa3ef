//! models.toml's remote entries (`url`, `urls`, `api_key_env`, `model`, `backend`).
use super::parse_models;
use crate::config::ModelEntry;
use crate::remote::Backend;

fn parse(text: &str) -> Result<std::collections::BTreeMap<String, ModelEntry>, String> {
    parse_models("models.toml", Some(text)).map_err(|e| e.to_string())
}

#[test]
fn remote_entries_parse_with_their_keys() {
    let models = parse(
        r#"
[models.lab]
url = "http://10.0.0.5:8080/v1/"
model = "gemma-3-27b"
backend = "llama-server"
api_key_env = "GEMMA_TUI_TEST_REMOTE_KEY"

[models.pool]
urls = ["http://127.0.0.1:8001/v1", "http://127.0.0.1:8002/v1"]
"#,
    )
    .unwrap();
    let lab = &models["lab"];
    assert!(lab.is_remote());
    assert_eq!(lab.backend, Some(Backend::LlamaServer));
    // The key comes from the environment when the model is used; unset, a clear error.
    std::env::remove_var("GEMMA_TUI_TEST_REMOTE_KEY");
    let err = lab.remote("lab").unwrap_err();
    assert!(err.contains("GEMMA_TUI_TEST_REMOTE_KEY"), "{err}");
    std::env::set_var("GEMMA_TUI_TEST_REMOTE_KEY", "sk-1");
    let spec = lab.remote("lab").unwrap().unwrap();
    assert_eq!(spec.urls, ["http://10.0.0.5:8080/v1"]);
    assert_eq!(spec.api_key.as_deref(), Some("sk-1"));
    assert_eq!(spec.model, "gemma-3-27b");
    let pool = models["pool"].remote("pool").unwrap().unwrap();
    assert_eq!(pool.urls.len(), 2);
    assert_eq!((pool.backend, pool.api_key), (None, None));
    // The default model stays a file.
    assert!(models["gemma-3-270m"]
        .remote("gemma-3-270m")
        .unwrap()
        .is_none());
}

#[test]
fn bad_remote_entries_are_refused_with_the_line_and_the_reason() {
    for (text, line, expected) in [
        (
            "[models.a]\npath = \"/m.gguf\"\nurl = \"http://h:1/v1\"\n",
            2,
            "not both",
        ),
        (
            "[models.a]\nurl = \"http://h:1/v1\"\nurls = [\"http://h:2/v1\"]\n",
            3,
            "`url` or `urls`",
        ),
        (
            "[models.a]\nurl = \"localhost:8080\"\n",
            2,
            "not an http or https URL",
        ),
        ("[models.a]\nurl = \"not a url\"\n", 2, "is not a URL"),
        (
            "[models.a]\nurls = [\"http://h:1/v1\", \"http://h:1/v1/\"]\n",
            2,
            "listed twice",
        ),
        (
            "[models.a]\npath = \"/m.gguf\"\nbackend = \"vllm\"\n",
            3,
            "set `url` too",
        ),
        (
            "[models.a]\nurl = \"http://h:1/v1\"\nkind = \"base\"\n",
            3,
            "`kind` is read from a GGUF",
        ),
    ] {
        let err = parse(text).unwrap_err();
        assert!(err.contains(expected), "{text}: {err}");
        assert!(
            err.starts_with(&format!("models.toml:{line}:")),
            "{text}: {err}"
        );
        assert!(err.contains("in model `a`"), "{err}");
    }
    let err = parse("[models.a]\nurl = \"http://h:1/v1\"\nbackend = \"tgi\"\n").unwrap_err();
    assert!(err.contains("unknown variant `tgi`"), "{err}");
}
