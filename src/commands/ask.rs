//! `gemma-tui ask`: one completion on standard output.
use std::io::{Read, Write};
use std::sync::Arc;

use gemma_tui::actors::sampling::vocab_of;
use gemma_tui::engine::{DetectedKind, Dialogue, Engine, Limits, PromptKind, StepControl};
use gemma_tui::sampling::Sampler;
use serde_json::json;

use super::{default_threads, resolve_model, CommandError};
use crate::cli::{AskArgs, Cli};

pub fn run(cli: &Cli, args: &AskArgs, matches: &clap::ArgMatches) -> Result<(), CommandError> {
    let prompt = match args.prompt.as_deref() {
        Some(p) if p != "-" => p.to_string(),
        _ => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| CommandError::Io(format!("cannot read the prompt from stdin: {e}")))?;
            s
        }
    };
    // The profile's settings with the explicit flags over them. Bad sampler settings are a usage
    // error (clap's exit code 2), found before the model loads.
    let profiled = super::profile::ask_settings(cli, args, matches);
    let params = profiled.sampler.clone().unwrap_or_else(|e| {
        use clap::CommandFactory;
        Cli::command()
            .error(
                clap::error::ErrorKind::ValueValidation,
                format!("bad sampler settings: {e}"),
            )
            .exit()
    });
    if prompt.trim().is_empty() {
        return Err(CommandError::Generation("the prompt is empty".into()));
    }
    // The template turns the prompt into the user turn; found and rendered before the model
    // loads, so a bad template or variable fails fast.
    let turn = if args.raw {
        None
    } else {
        Some(render_turn(cli, args, &profiled, &prompt)?)
    };
    // A bad expression or schema fails here, before the model loads.
    // The flags, else the template's keys, else the profile's.
    let configured = turn.as_ref().and_then(|t| t.output.clone());
    let constraint = super::ask_constrained::from_args(args, configured, &profiled)?;
    if let Some(remote) = super::remote_model(cli)? {
        if constraint.is_some() {
            return Err(CommandError::Generation(
                "output constraints (--regex, --json-schema, a profile's or template's json_schema or regex) run on the local engine only, not on a remote model"
                    .into(),
            ));
        }
        let ask = super::ask_remote::RemoteAsk {
            remote,
            prompt: &prompt,
            params,
            max_tokens: profiled.max_tokens,
            stop: profiled.stop.clone(),
            turn: turn.map(|t| (t.text, t.system, t.stop)),
            json: args.json,
        };
        return super::ask_remote::run(ask);
    }
    let path = resolve_model(cli.model.clone())?;
    // RoPE scaling: the models.toml entry's, the profile's, then the flags.
    let rope = profiled.config.rope_for(
        &path,
        profiled.config.profiles.get(&profiled.profile_name),
        &cli.rope.to_scaling(),
    );
    let mut engine = Engine::load_with_rope(
        &path,
        cli.threads.unwrap_or_else(default_threads),
        cli.engine,
        &rope,
    )
    .map_err(|e| CommandError::Model(format!("{}: {e}", path.display())))?;
    if let Some(kind) = profiled.config.kind_override(&path) {
        engine.model_kind = kind;
    }
    if let Some(kind) = args.kind {
        engine.model_kind = DetectedKind {
            kind,
            because: "--kind".into(),
        };
    }
    let mut session = engine
        .new_session(profiled.ctx)
        .map_err(|e| CommandError::Model(e.to_string()))?;
    // BOS and the first --keep tokens survive every shift.
    session.context_shift = args.context_shift.then_some(args.keep + 1);
    session.draft = profiled.draft;
    let mut sampler = Sampler::new(params);
    if sampler
        .params
        .is_active(gemma_tui::sampling::SamplerKind::Dry)
    {
        // DRY finds its sequence breakers in the tokens' text.
        let tokenize = |s: &str| engine.tokenizer.encode(s, false, false);
        sampler.set_vocab(Arc::new(vocab_of(&engine.tokenizer)), Some(&tokenize));
    }
    let mut limits = Limits {
        max_tokens: profiled.max_tokens,
        stop: profiled.stop.clone(),
    };
    let kind = match turn {
        None => PromptKind::Raw(prompt.clone()),
        Some(turn) => {
            limits.stop.extend(turn.stop);
            PromptKind::Chat {
                format: engine.chat_format(|| turn.dialogue),
                text: turn.text,
                system: turn.system,
            }
        }
    };
    let leading_space = kind.format().is_some_and(|f| f.trims_reply_start());
    let mut constrained = constraint
        .as_ref()
        .map(|c| super::ask_constrained::start(c, &engine.tokenizer, leading_space));
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut text = String::new();
    let mut write_error = None;
    let stats = engine
        .generate(
            &mut session,
            &kind,
            &limits,
            &|| false,
            &mut |logits, history| match constrained.as_mut() {
                Some(c) => c
                    .next_token(&mut sampler, &logits, history)
                    .map_err(|e| gemma_tui::engine::EngineError::Kernel(e.to_string())),
                None => sampler
                    .sample_with_history(&logits, history)
                    .map_err(|e| gemma_tui::engine::EngineError::Kernel(e.to_string())),
            },
            &mut |event| {
                if let gemma_tui::engine::GenEvent::Token { text: piece, .. } = event {
                    text.push_str(piece);
                    if !args.json {
                        // A closed pipe (`| head`) ends the generation instead of panicking.
                        if let Err(e) = out.write_all(piece.as_bytes()).and_then(|_| out.flush()) {
                            write_error = Some(e);
                            return StepControl::Stop;
                        }
                    }
                }
                StepControl::Continue
            },
        )
        .map_err(|e| CommandError::Generation(e.to_string()))?;
    if let Some(e) = write_error {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Ok(());
        }
        return Err(CommandError::Io(format!("cannot write to stdout: {e}")));
    }
    // A reply cut short (the token limit, the context) does not match the constraint: say so.
    let incomplete = constrained.as_ref().is_some_and(|c| !c.is_complete());
    let constraint_report = constraint
        .as_ref()
        .zip(constrained.as_ref())
        .map(|(c, state)| super::ask_constrained::report(c, state.is_complete(), &state.stats));
    if args.json {
        let value = json!({
            "model": path.display().to_string(),
            "prompt": prompt,
            "text": text,
            "prompt_ids": stats.prompt_ids,
            "generated_ids": stats.generated_ids,
            "finish": stats.finish,
            "model_kind": engine.model_kind.kind,
            "chat_format": kind.format().map(|f| f.name()),
            "timings": {
                "load_ms": engine.load_time.as_secs_f64() * 1000.0,
                "prefill_ms": stats.prefill_ms,
                "ttft_ms": stats.ttft_ms,
                "decode_ms": stats.decode_ms,
                "prefill_tok_s": stats.prefill_tok_s(),
                "decode_tok_s": stats.decode_tok_s(),
            },
            "draft": {
                "mode": if profiled.draft.is_some() { "ngram" } else { "off" },
                "max": profiled.draft.map(|d| d.max),
                "drafted": stats.drafted,
                "accepted": stats.draft_accepted,
                "acceptance": gemma_tui::engine::draft::acceptance(stats.drafted, stats.draft_accepted),
            },
            "threads": engine.threads(),
            "constraint": constraint_report,
        });
        writeln!(out, "{value}").map_err(|e| CommandError::Io(e.to_string()))?;
    } else {
        let _ = writeln!(out);
    }
    if incomplete {
        return Err(CommandError::Generation(format!(
            "the reply ended ({:?}) before it was complete under the constraint; raise \
             --max-tokens (now {})",
            stats.finish, profiled.max_tokens
        )));
    }
    Ok(())
}

/// The user turn `ask` sends: the template (`--template`, else the profile's) rendered with the
/// prompt as `{query}` and `--var` values; its system prompt and stop strings; and the transcript a
/// base model would continue.
struct AskTurn {
    text: String,
    system: Option<String>,
    stop: Vec<String>,
    dialogue: Dialogue,
    /// The template's `json_schema` / `regex`, if it has one.
    output: Option<gemma_tui::sampling::constrained::OutputConstraint>,
}

fn render_turn(
    cli: &Cli,
    args: &AskArgs,
    profiled: &super::profile::AskSettings,
    prompt: &str,
) -> Result<AskTurn, CommandError> {
    use gemma_tui::config::templates::{system_prompt, timestamp_now, PromptVars};
    let dir = gemma_tui::config::config_dir(cli.config_dir.as_deref());
    let set = gemma_tui::config::load_templates(&dir);
    for e in &set.errors {
        eprintln!("gemma-tui: warning: {e}");
    }
    let template = set.get(&profiled.template).map_err(CommandError::Config)?;
    let model = cli
        .model
        .clone()
        .unwrap_or_else(|| gemma_tui::models::DEFAULT_MODEL.file_name.into());
    let model = model
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let system = system_prompt(profiled.system.as_deref(), template).map(str::to_string);
    let mut vars = PromptVars {
        query: prompt.to_string(),
        timestamp: timestamp_now(),
        profile: profiled.profile_name.clone(),
        model,
        system: system.clone().unwrap_or_default(),
        ..PromptVars::default()
    };
    for (k, v) in &args.vars {
        template
            .check_var(k)
            .map_err(|e| CommandError::Config(e.to_string()))?;
        vars.set(k, v.clone());
    }
    let text = template
        .render(&vars)
        .map_err(|e| CommandError::Config(e.to_string()))?;
    let dialogue = set.dialogue(&vars).map_err(CommandError::Config)?;
    let output = template
        .meta
        .output(&profiled.template)
        .map_err(|(key, e)| CommandError::Config(format!("{}: `{key}`: {e}", template.file)))?;
    Ok(AskTurn {
        text,
        system,
        stop: template.meta.stop.clone(),
        dialogue,
        output,
    })
}
