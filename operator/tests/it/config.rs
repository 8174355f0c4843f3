//! The config file: defaults, the example, every error located by file, line, column and key
//! path, token resolution that never leaks a token.

use std::path::{Path, PathBuf};

use cockpit_operator::config::{
    Account, Config, ConfigError, CredentialKind, InvalidConfig, ProblemKind, Secret, TokenSource, validate_name,
};

const TOKEN: &str = "sk-ant-oat01-TOPSECRETVALUE123";

/// Joins lines with `\n`, so that a test's line numbers are the slice's indices + 1.
fn text(lines: &[&str]) -> String {
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

fn invalid(err: ConfigError) -> InvalidConfig {
    match err {
        ConfigError::Invalid(invalid) => *invalid,
        other => panic!("expected a located config error, got {other}"),
    }
}

/// The located error of text that must not parse (repo paths unchecked).
fn error_unchecked(yaml: &str) -> InvalidConfig {
    match Config::from_yaml_unchecked(yaml, "test.yaml") {
        Ok(config) => panic!("expected an error, parsed {config:?}"),
        Err(err) => invalid(err),
    }
}

/// Asserts file, line, column, key and kind, and that the Display names all of them.
#[track_caller]
fn assert_at(err: &InvalidConfig, line: usize, column: usize, key: &str, kind: ProblemKind) {
    assert_eq!(
        (err.file.as_str(), err.line, err.column, err.key.as_str(), err.kind),
        ("test.yaml", line, Some(column), key, kind),
        "{err}"
    );
    let shown = err.to_string();
    assert!(shown.starts_with(&format!("test.yaml:{line}:{column}: ")), "{shown}");
    assert!(shown.contains(&format!("`{key}`")), "{shown}");
}

fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |var| pairs.iter().find(|(k, _)| *k == var).map(|(_, v)| (*v).to_owned())
}

fn account(name: &str, token: TokenSource) -> Account {
    Account {
        name: name.to_owned(),
        token,
        priority: 0,
        kind: CredentialKind::OAuthToken,
        max_sessions: None,
        rotate_at: None,
    }
}

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------------------------
// Defaults and valid files

#[test]
fn default_config_has_nothing_but_defaults_and_hints_say_what_to_add() {
    let config = Config::default();
    assert!(config.repos.is_empty());
    assert!(config.accounts.is_empty());
    assert_eq!(config.limits.max_concurrent_sessions, 8);
    assert_eq!(config.worker.command, "claude");
    assert_eq!(config.worker.bin, None);
    assert_eq!(config.worker.ring_bytes, 8 * 1024 * 1024);
    assert!(config.allowed_origins.is_empty());

    let hints = config.hints_with(|_| None);
    assert_eq!(hints.len(), 2, "{hints:?}");
    assert!(hints[0].starts_with("no repos configured: add `repos:`"), "{hints:?}");
    assert!(hints[1].starts_with("no accounts configured"), "{hints:?}");
    assert!(hints[1].contains("`accounts:`"), "{hints:?}");

    // In Kubernetes mode accounts are ClaudeAccount objects: none in the file is no hint.
    let kube = config.hints_for(false, |_| None);
    assert_eq!(kube.len(), 1, "{kube:?}");
    assert!(kube[0].starts_with("no repos configured"), "{kube:?}");
}

#[test]
fn empty_and_comment_only_files_and_empty_sections_give_the_defaults() {
    for yaml in ["", "# nothing yet\n", "{}\n", "repos:\naccounts:\nlimits:\nworker:\nallowedOrigins:\n"] {
        let config = Config::from_yaml(yaml, "test.yaml").unwrap_or_else(|err| panic!("{yaml:?}: {err}"));
        assert_eq!(config, Config::default(), "{yaml:?}");
    }
}

#[test]
fn a_full_config_parses_with_its_values_and_defaults() {
    let dir = temp();
    let web = dir.path().join("web");
    std::fs::create_dir(&web).expect("mkdir");
    let yaml = text(&[
        "repos:",
        &format!("  - name: web-2\n    path: {}", web.display()),
        "accounts:",
        "  - name: personal",
        "    tokenEnv: CLAUDE_TOKEN_PERSONAL",
        "    priority: 10",
        "    maxSessions: 3",
        "    rotateAt: 90",
        "  - name: work",
        "    tokenFile: /etc/cockpit/work.token",
        "    kind: ApiKey",
        "  - name: spare",
        "    tokenEnv: SPARE",
        "    priority: 20",
        "limits:",
        "  maxConcurrentSessions: 4",
        "worker:",
        "  command: /usr/local/bin/claude",
        "  bin: /opt/cockpit/cockpit-worker",
        "  ringBytes: 1048576",
        "allowedOrigins: [\"https://NUC.tailnet.ts.net\", \"http://localhost:5173\", \"http://[::1]:8080\"]",
        "defaultPermissionMode: auto",
    ]);
    let config = Config::from_yaml(&yaml, "test.yaml").unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(config.repos.len(), 1);
    assert_eq!(config.repo("web-2").map(|r| r.path.clone()), Some(web));
    assert!(config.repo("nope").is_none());

    let personal = config.account("personal").expect("personal");
    assert_eq!(personal.token, TokenSource::Env("CLAUDE_TOKEN_PERSONAL".into()));
    assert_eq!((personal.priority, personal.kind, personal.max_sessions), (10, CredentialKind::OAuthToken, Some(3)));
    assert_eq!(personal.rotate_at, Some(90));
    let work = config.account("work").expect("work");
    assert_eq!(work.token, TokenSource::File("/etc/cockpit/work.token".into()));
    assert_eq!((work.priority, work.kind, work.max_sessions), (0, CredentialKind::ApiKey, None));
    assert_eq!(work.rotate_at, None, "off unless set");
    let order: Vec<&str> = config.accounts_by_priority().iter().map(|a| a.name.as_str()).collect();
    assert_eq!(order, ["spare", "personal", "work"]);

    assert_eq!(config.limits.max_concurrent_sessions, 4);
    assert_eq!(config.worker.command, "/usr/local/bin/claude");
    assert_eq!(config.worker.bin, Some(PathBuf::from("/opt/cockpit/cockpit-worker")));
    assert_eq!(config.worker.resolve_bin(), PathBuf::from("/opt/cockpit/cockpit-worker"));
    assert_eq!(config.worker.ring_bytes, 1 << 20);
    assert_eq!(config.allowed_origins, ["https://nuc.tailnet.ts.net", "http://localhost:5173", "http://[::1]:8080"]);
    assert_eq!(config.default_permission_mode, cockpit_api::PermissionMode::Auto);
}

#[test]
fn the_example_file_parses_and_shows_every_setting() {
    let path = manifest_dir().join("examples/cockpit.yaml");
    let yaml = std::fs::read_to_string(&path).expect("operator/examples/cockpit.yaml");
    let config = Config::from_yaml_unchecked(&yaml, "cockpit.yaml").unwrap_or_else(|err| panic!("{err}"));
    assert!(!config.repos.is_empty());
    assert!(config.accounts.iter().any(|a| matches!(a.token, TokenSource::Env(_))));
    assert!(config.accounts.iter().any(|a| matches!(a.token, TokenSource::File(_))));
    assert!(config.accounts.iter().any(|a| a.kind == CredentialKind::ApiKey));
    assert!(config.accounts.iter().any(|a| a.max_sessions.is_some()));
    assert!(!config.allowed_origins.is_empty());
    assert!(config.worker.bin.is_none(), "workers default to `cockpit worker`");
    for documented in [
        "maxConcurrentSessions",
        "command",
        "bin:",
        "ringBytes",
        "priority",
        "kind",
        "defaultPermissionMode",
        "rotateAt",
    ] {
        assert!(yaml.contains(documented), "the example should show `{documented}`");
    }
}

#[test]
fn the_quick_start_config_loads_as_it_is() {
    let config = Config::load(manifest_dir().join("examples/local.yaml")).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(config.repos.len(), 1);
    assert!(config.repos[0].path.join("README.md").exists(), "the quick start offers this checkout");
    assert!(config.accounts.is_empty());
}

#[test]
fn load_resolves_relative_paths_against_the_files_directory_and_names_the_file_in_errors() {
    let dir = temp();
    std::fs::create_dir(dir.path().join("web")).expect("mkdir");
    let file = dir.path().join("cockpit.yaml");
    let yaml = text(&[
        "repos:",
        "  - name: web",
        "    path: web",
        "accounts:",
        "  - name: a",
        "    tokenFile: secrets/a.token",
        "worker:",
        "  bin: ./bin/cockpit-worker",
    ]);
    std::fs::write(&file, &yaml).expect("write");
    let config = Config::load(&file).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(config.repos[0].path, dir.path().join("web"));
    assert_eq!(config.accounts[0].token, TokenSource::File(dir.path().join("secrets/a.token")));
    assert_eq!(config.worker.bin, Some(dir.path().join("./bin/cockpit-worker")));

    std::fs::write(&file, "repos:\n  - name: web\n    path: missing\n").expect("write");
    let err = invalid(Config::load(&file).expect_err("missing repo dir"));
    assert_eq!(err.file, file.display().to_string());
    assert!(err.to_string().starts_with(&format!("{}:3:5: `repos[0].path`: ", file.display())), "{err}");
    assert!(err.message.contains(&dir.path().join("missing").display().to_string()), "{err}");
}

#[test]
fn a_bare_worker_bin_stays_a_name_for_path_lookup() {
    let config = Config::from_yaml("worker:\n  bin: my-worker\n", "test.yaml").expect("parses");
    assert_eq!(config.worker.bin, Some(PathBuf::from("my-worker")));
    assert_eq!(Config::default().worker.resolve_bin().file_name().and_then(|n| n.to_str()), Some("cockpit-worker"));
}

// ---------------------------------------------------------------------------------------------
// Unreadable file

#[test]
fn an_unreadable_file_is_named() {
    let dir = temp();
    let missing = dir.path().join("nope.yaml");
    let err = Config::load(&missing).expect_err("missing file");
    assert!(matches!(err, ConfigError::Read { .. }), "{err:?}");
    let shown = err.to_string();
    assert!(shown.contains(&missing.display().to_string()), "{shown}");
    assert!(shown.starts_with("cannot read config file "), "{shown}");

    let err = Config::load(dir.path()).expect_err("a directory");
    assert!(err.to_string().contains(&dir.path().display().to_string()), "{err}");

    let binary = dir.path().join("binary.yaml");
    std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x80]).expect("write");
    let err = Config::load(&binary).expect_err("not UTF-8");
    assert!(err.to_string().contains("binary.yaml"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// YAML syntax

#[test]
fn a_syntax_error_names_file_line_column_and_the_nearest_key() {
    let yaml = text(&[
        "repos: []",       // 1
        "accounts:",       // 2
        "  - name: a",     // 3
        "    tokenEnv: A", // 4
        "   priority: 3",  // 5: bad indentation
    ]);
    let err = error_unchecked(&yaml);
    assert_eq!((err.line, err.column, err.key.as_str(), err.kind), (5, Some(4), "accounts", ProblemKind::Syntax));
    let shown = err.to_string();
    assert!(shown.starts_with("test.yaml:5:4: near `accounts`: YAML syntax error: "), "{shown}");
    assert!(!shown.contains("at line 5 column 4"), "position said twice: {shown}");

    let err = error_unchecked("worker:\n  command: \"claude\n");
    assert_eq!((err.line, err.kind), (3, ProblemKind::Syntax), "{err}");
    assert!(err.to_string().starts_with("test.yaml:3:1: near `worker.command`: "), "{err}");

    let err = error_unchecked("limits: {maxConcurrentSessions: 3\n");
    assert_eq!((err.line, err.kind), (2, ProblemKind::Syntax), "{err}");
}

#[test]
fn a_repeated_key_points_at_its_second_occurrence() {
    let yaml = text(&[
        "accounts:",       // 1
        "  - name: a",     // 2
        "    tokenEnv: A", // 3
        "    priority: 1", // 4
        "    tokenEnv: B", // 5
    ]);
    let err = error_unchecked(&yaml);
    assert_at(&err, 5, 5, "accounts[0].tokenEnv", ProblemKind::Syntax);
    assert!(err.message.contains("duplicate"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Structure: unknown keys, wrong types, missing keys

#[test]
fn unknown_keys_are_errors_at_their_line() {
    let yaml = text(&[
        "repos: []",       // 1
        "accounts:",       // 2
        "  - name: a",     // 3
        "    tokenEnv: A", // 4
        "  - name: b",     // 5
        "    tokenEnv: B", // 6
        "    tokn: x",     // 7
    ]);
    let err = error_unchecked(&yaml);
    assert_at(&err, 7, 5, "accounts[1].tokn", ProblemKind::UnknownKey);
    assert!(err.message.contains("unknown field `tokn`"), "{err}");

    let err = error_unchecked("limits:\n  maxConcurrentSessions: 3\nlimit: 4\n");
    assert_at(&err, 3, 1, "limit", ProblemKind::UnknownKey);

    let err = error_unchecked("worker:\n\n  ring_bytes: 100000\n");
    assert_at(&err, 3, 3, "worker.ring_bytes", ProblemKind::UnknownKey);
    assert!(err.message.ends_with("did you mean `ringBytes`?"), "{err}");

    let err = error_unchecked("accounts:\n  - name: a\n    tokenenv: A\n");
    assert!(err.message.ends_with("did you mean `tokenEnv`?"), "{err}");
}

#[test]
fn wrong_types_are_errors_at_their_line() {
    let yaml = text(&[
        "accounts:",          // 1
        "  - name: a",        // 2
        "    tokenEnv: A",    // 3
        "    priority: high", // 4
    ]);
    let err = error_unchecked(&yaml);
    assert_at(&err, 4, 5, "accounts[0].priority", ProblemKind::WrongType);
    assert!(err.message.contains("invalid type: string \"high\", expected i32"), "{err}");

    let err = error_unchecked("accounts:\n  - name: a\n    tokenEnv: A\n    kind: Token\n");
    assert_at(&err, 4, 5, "accounts[0].kind", ProblemKind::WrongType);
    assert!(err.message.contains("`OAuthToken`") && err.message.contains("`ApiKey`"), "{err}");

    let err = error_unchecked("defaultPermissionMode: yolo\n");
    assert_at(&err, 1, 1, "defaultPermissionMode", ProblemKind::WrongType);
    assert!(err.message.contains("`auto`") && err.message.contains("`default`"), "{err}");

    let err = error_unchecked("# limits\n\nlimits: 5\n");
    assert_at(&err, 3, 1, "limits", ProblemKind::WrongType);
    assert!(err.message.ends_with("expected a mapping"), "{err}");

    let err = error_unchecked("repos:\n  - web\n");
    assert_at(&err, 2, 5, "repos[0]", ProblemKind::WrongType);

    let err = error_unchecked("limits:\n  maxConcurrentSessions: -1\n");
    assert_at(&err, 2, 3, "limits.maxConcurrentSessions", ProblemKind::WrongType);

    let err = error_unchecked("- repos\n");
    assert_eq!((err.line, err.key.as_str(), err.kind), (1, "", ProblemKind::WrongType), "{err}");
    assert!(err.to_string().starts_with("test.yaml:1:1: `(top level)`: "), "{err}");
}

#[test]
fn missing_keys_point_at_the_list_item() {
    let yaml = text(&[
        "repos:",             // 1
        "  - name: web",      // 2
        "    path: /srv/web", // 3
        "  - name: api",      // 4
    ]);
    let err = error_unchecked(&yaml);
    assert_at(&err, 4, 5, "repos[1]", ProblemKind::MissingKey);
    assert!(err.message.contains("missing field `path`"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Meaning: names, duplicates, token sources, repo paths, ranges

#[test]
fn duplicate_names_point_at_the_second_and_mention_the_first() {
    let yaml = text(&[
        "repos:",        // 1
        "  - name: web", // 2
        "    path: /a",  // 3
        "  - name: api", // 4
        "    path: /b",  // 5
        "  - path: /c",  // 6
        "    name: web", // 7
    ]);
    let err = error_unchecked(&yaml);
    assert_at(&err, 7, 5, "repos[2].name", ProblemKind::DuplicateName);
    assert!(err.message.contains("`web`") && err.message.contains("line 2"), "{err}");

    let yaml = text(&[
        "accounts:",                   // 1
        "  - {name: me, tokenEnv: A}", // 2
        "  - {tokenEnv: B, name: me}", // 3
    ]);
    let err = error_unchecked(&yaml);
    assert_at(&err, 3, 19, "accounts[1].name", ProblemKind::DuplicateName);
    assert!(err.message.contains("`me`") && err.message.contains("line 2"), "{err}");
}

#[test]
fn both_or_neither_token_source_is_an_error() {
    let yaml = text(&[
        "accounts:",               // 1
        "  - name: a",             // 2
        "    tokenEnv: A",         // 3
        "  - name: b",             // 4
        "    tokenFile: /b.token", // 5
        "    priority: 2",         // 6
        "    tokenEnv: B",         // 7
    ]);
    let err = error_unchecked(&yaml);
    assert_at(&err, 7, 5, "accounts[1].tokenEnv", ProblemKind::TokenSource);
    assert!(err.message.contains("account `b` sets both `tokenEnv` and `tokenFile`"), "{err}");

    let err = error_unchecked("accounts:\n  - name: a\n    tokenEnv: A\n    tokenFile: /a\n");
    assert_at(&err, 4, 5, "accounts[0].tokenFile", ProblemKind::TokenSource);

    let yaml = text(&[
        "accounts:",       // 1
        "  - name: a",     // 2
        "    tokenEnv: A", // 3
        "  -",             // 4
        "    name: b",     // 5
        "    priority: 1", // 6
    ]);
    let err = error_unchecked(&yaml);
    assert_at(&err, 5, 5, "accounts[1]", ProblemKind::TokenSource);
    assert!(err.message.contains("account `b` needs exactly one of `tokenEnv`"), "{err}");
}

#[test]
fn repo_paths_must_exist_and_be_directories() {
    let dir = temp();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").expect("write");
    let missing = dir.path().join("missing");
    let yaml = text(&[
        "repos:",                                                     // 1
        &format!("  - name: ok\n    path: {}", dir.path().display()), // 2-3
        "  - name: gone",                                             // 4
        &format!("    path: {}", missing.display()),                  // 5
    ]);
    let err = invalid(Config::from_yaml(&yaml, "test.yaml").expect_err("missing dir"));
    assert_at(&err, 5, 5, "repos[1].path", ProblemKind::PathMissing);
    assert!(err.message.contains(&format!("directory {} does not exist", missing.display())), "{err}");
    assert!(Config::from_yaml_unchecked(&yaml, "test.yaml").is_ok(), "unchecked ignores paths");

    let yaml = format!("repos:\n  - name: f\n    path: {}\n", file.display());
    let err = invalid(Config::from_yaml(&yaml, "test.yaml").expect_err("a file"));
    assert_at(&err, 3, 5, "repos[0].path", ProblemKind::PathMissing);
    assert!(err.message.contains("is not a directory"), "{err}");

    // A repo directory that vanished later is a hint, not a crash.
    let config =
        Config::from_yaml_unchecked(&format!("repos:\n  - name: gone\n    path: {}\n", missing.display()), "t")
            .expect("unchecked");
    let hints = config.hints_with(|_| None);
    assert!(
        hints.iter().any(|h| h.starts_with("repo `gone`: directory") && h.ends_with("does not exist")),
        "{hints:?}"
    );
}

#[test]
fn bad_repo_names_are_refused_at_their_line() {
    for (name, why) in [
        ("Web", "'W'"),
        ("my_repo", "'_'"),
        ("-web", "must start with a letter or a digit"),
        ("\"\"", "must not be empty"),
        ("web.app", "'.'"),
        (&"a".repeat(64), "at most 63"),
    ] {
        let yaml = format!("repos:\n  - path: /srv/x\n    name: {name}\n");
        let err = error_unchecked(&yaml);
        assert_at(&err, 3, 5, "repos[0].name", ProblemKind::BadName);
        assert!(err.message.contains(why), "{name}: {err}");
    }
    let err = error_unchecked("accounts:\n  - name: ''\n    tokenEnv: A\n");
    assert_at(&err, 2, 5, "accounts[0].name", ProblemKind::BadName);
}

#[test]
fn names_follow_the_rule() {
    for good in ["web", "a", "0", "web-2", "my-long-repo-name", &"a".repeat(63), "a-"] {
        assert_eq!(validate_name(good), Ok(()), "{good}");
    }
    for bad in ["", "Web", "web_2", "-a", "a b", "a/b", "..", "é", &"a".repeat(64)] {
        assert!(validate_name(bad).is_err(), "{bad}");
    }
}

#[test]
fn values_out_of_range_are_refused() {
    let cases: &[(&str, usize, usize, &str)] = &[
        ("limits:\n  maxConcurrentSessions: 0\n", 2, 3, "limits.maxConcurrentSessions"),
        ("accounts:\n  - name: a\n    tokenEnv: A\n    maxSessions: 0\n", 4, 5, "accounts[0].maxSessions"),
        ("accounts:\n  - name: a\n    tokenEnv: A\n    rotateAt: 0\n", 4, 5, "accounts[0].rotateAt"),
        ("accounts:\n  - name: a\n    tokenEnv: A\n    rotateAt: 101\n", 4, 5, "accounts[0].rotateAt"),
        ("worker:\n  ringBytes: 1000\n", 2, 3, "worker.ringBytes"),
        ("worker:\n  ringBytes: 99999999999\n", 2, 3, "worker.ringBytes"),
        ("worker:\n  command: ''\n", 2, 3, "worker.command"),
        ("worker:\n  bin: ''\n", 2, 3, "worker.bin"),
        ("accounts:\n  - name: a\n    tokenFile: ''\n", 3, 5, "accounts[0].tokenFile"),
        ("accounts:\n  - name: a\n    tokenEnv: 1ABC\n", 3, 5, "accounts[0].tokenEnv"),
        ("allowedOrigins:\n  - https://ok.example\n  - https://nuc.example/\n", 3, 5, "allowedOrigins[1]"),
        ("allowedOrigins: [\"nuc.example\"]\n", 1, 18, "allowedOrigins[0]"),
        ("allowedOrigins: [\"https://nuc.example/app\"]\n", 1, 18, "allowedOrigins[0]"),
        ("allowedOrigins: [\"https://nuc.example:http\"]\n", 1, 18, "allowedOrigins[0]"),
        ("allowedOrigins: [\"https://\"]\n", 1, 18, "allowedOrigins[0]"),
    ];
    for (yaml, line, column, key) in cases {
        let err = error_unchecked(yaml);
        assert_at(&err, *line, *column, key, ProblemKind::BadValue);
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens

#[test]
fn tokens_resolve_from_env_and_file_trimmed() {
    let dir = temp();
    let file = dir.path().join("work.token");
    std::fs::write(&file, format!("  {TOKEN}\n\n")).expect("write");

    let from_env = account("personal", TokenSource::Env("TOK".into()));
    let secret = from_env.resolve_token(env_of(&[("TOK", " sk-ant-oat01-TOPSECRETVALUE123\n")])).expect("env token");
    assert_eq!(secret.expose(), TOKEN);

    let from_file = account("work", TokenSource::File(file));
    let secret = from_file.resolve_token(|_| None).expect("file token");
    assert_eq!(secret.expose(), TOKEN);
}

#[test]
fn token_errors_name_the_account_and_the_source_but_never_the_token() {
    let dir = temp();
    let check = |err: ConfigError, must: &[&str]| {
        let shown = format!("{err} / {err:?}");
        for m in must {
            assert!(shown.contains(m), "missing {m:?} in {shown}");
        }
        assert!(!shown.contains("TOPSECRET"), "token leaked: {shown}");
    };

    let a = account("personal", TokenSource::Env("CLAUDE_TOKEN_PERSONAL".into()));
    let err = a.resolve_token(|_| None).expect_err("unset");
    assert!(matches!(err, ConfigError::TokenEnvUnset { .. }));
    check(err, &["account `personal`", "CLAUDE_TOKEN_PERSONAL", "not set"]);
    let err = a.resolve_token(env_of(&[("CLAUDE_TOKEN_PERSONAL", " \n")])).expect_err("empty");
    check(err, &["account `personal`", "environment variable CLAUDE_TOKEN_PERSONAL", "empty"]);
    let err = a
        .resolve_token(env_of(&[("CLAUDE_TOKEN_PERSONAL", "sk-ant-oat01-TOPSECRETVALUE123 sk-ant-oat01-TOPSECRET2")]))
        .expect_err("two words");
    check(err, &["account `personal`", "CLAUDE_TOKEN_PERSONAL", "more than one"]);

    let empty = dir.path().join("empty.token");
    std::fs::write(&empty, "\n").expect("write");
    let err = account("work", TokenSource::File(empty.clone())).resolve_token(|_| None).expect_err("empty file");
    check(err, &["account `work`", &empty.display().to_string(), "empty"]);

    let two_lines = dir.path().join("two.token");
    std::fs::write(&two_lines, format!("{TOKEN}\nsk-ant-oat01-TOPSECRETOTHER\n")).expect("write");
    let err = account("work", TokenSource::File(two_lines.clone())).resolve_token(|_| None).expect_err("two lines");
    check(err, &["account `work`", &two_lines.display().to_string(), "more than one"]);

    let missing = dir.path().join("missing.token");
    let err = account("work", TokenSource::File(missing.clone())).resolve_token(|_| None).expect_err("missing");
    assert!(matches!(err, ConfigError::TokenFileUnreadable { .. }));
    check(err, &["account `work`", &missing.display().to_string()]);
}

#[test]
fn secrets_are_redacted_in_debug_and_display() {
    let secret = Secret::new(TOKEN);
    assert_eq!(format!("{secret}"), "<redacted>");
    assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
    assert_eq!(format!("{:?}", Some(secret.clone())), "Some(Secret(<redacted>))");
    assert_eq!(secret.expose(), TOKEN);
}

#[test]
fn a_token_pasted_into_the_config_never_shows_in_errors_or_debug() {
    // Pasted where the variable's name belongs.
    let yaml = format!("accounts:\n  - name: a\n    tokenEnv: {TOKEN}\n");
    let err = Config::from_yaml_unchecked(&yaml, "test.yaml").expect_err("not a variable name");
    let shown = format!("{err} / {err:?}");
    assert!(!shown.contains("TOPSECRET"), "{shown}");
    assert!(shown.contains("test.yaml:3:5: `accounts[0].tokenEnv`"), "{shown}");
    assert!(shown.contains("not the token itself"), "{shown}");

    // Pasted where a number or an enum belongs: serde repeats the value, we redact it.
    for yaml in [
        format!("accounts:\n  - name: a\n    tokenEnv: A\n    priority: {TOKEN}\n"),
        format!("accounts:\n  - name: a\n    tokenEnv: A\n    kind: {TOKEN}\n"),
        format!("accounts:\n  - name: a\n    token: {TOKEN}\n"),
        format!("allowedOrigins: [\"https://{TOKEN}/\"]\n"),
    ] {
        let err = Config::from_yaml_unchecked(&yaml, "test.yaml").expect_err("bad");
        let shown = format!("{err} / {err:?}");
        assert!(!shown.contains("TOPSECRET"), "{shown}");
        assert!(shown.contains("test.yaml:4:") || shown.contains("test.yaml:3:") || shown.contains("test.yaml:1:"));
    }

    // A valid config holds only where tokens are, never tokens.
    let dir = temp();
    let file = dir.path().join("t");
    std::fs::write(&file, TOKEN).expect("write");
    let config = Config::from_yaml_unchecked(
        &format!("accounts:\n  - name: a\n    tokenFile: {}\n  - name: b\n    tokenEnv: B\n", file.display()),
        "test.yaml",
    )
    .expect("valid");
    let secret = config.accounts[0].resolve_token(|_| None).expect("token");
    let shown = format!("{config:?} {:?} {secret:?} {secret}", config.hints_with(|_| Some(TOKEN.to_owned())));
    assert!(!shown.contains("TOPSECRET"), "{shown}");
}

#[test]
fn hints_name_accounts_whose_token_is_missing() {
    let dir = temp();
    let yaml = format!(
        "repos:\n  - name: web\n    path: {}\naccounts:\n  - name: a\n    tokenEnv: TOKEN_A\n  - name: b\n    tokenEnv: TOKEN_B\n",
        dir.path().display()
    );
    let config = Config::from_yaml(&yaml, "test.yaml").expect("valid");
    let hints = config.hints_with(env_of(&[("TOKEN_A", "sk-ant-oat01-TOPSECRETVALUE123")]));
    assert_eq!(hints, ["account `b`: environment variable TOKEN_B is not set"]);
    assert!(config.hints_with(env_of(&[("TOKEN_A", "x"), ("TOKEN_B", "y")])).is_empty());
    assert!(config.hints_for(false, env_of(&[])).is_empty(), "in Kubernetes the control plane holds no token");
}

#[test]
fn a_token_file_others_can_read_is_a_hint() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp();
    let file = dir.path().join("a.token");
    std::fs::write(&file, "sk-ant-oat01-filetoken\n").expect("write");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let yaml = format!(
        "repos:\n  - name: web\n    path: {}\naccounts:\n  - name: a\n    tokenFile: {}\n",
        dir.path().display(),
        file.display()
    );
    let config = Config::from_yaml(&yaml, "test.yaml").expect("valid");
    let hints = config.hints_with(env_of(&[]));
    assert_eq!(hints.len(), 1, "{hints:?}");
    assert!(hints[0].contains("readable by others (mode 644)") && hints[0].contains("chmod 600"), "{hints:?}");
    assert!(!hints[0].contains("filetoken"), "never the value");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    assert!(config.hints_with(env_of(&[])).is_empty());
}

#[test]
fn errors_are_in_document_position_even_with_comments_anchors_and_flow_style() {
    let yaml = text(&[
        "# cockpit config", // 1
        "",                 // 2
        "base: &base",      // 3: unknown top-level key
        "  priority: 1",    // 4
    ]);
    let err = error_unchecked(&yaml);
    assert_at(&err, 3, 1, "base", ProblemKind::UnknownKey);

    let yaml = text(&[
        "accounts: [",                              // 1
        "  {name: a, tokenEnv: A},",                // 2
        "  {name: b, tokenEnv: B, maxSessions: x}", // 3
        "]",                                        // 4
    ]);
    let err = error_unchecked(&yaml);
    assert_at(&err, 3, 26, "accounts[1].maxSessions", ProblemKind::WrongType);
}

#[test]
fn error_kinds_are_reachable_through_invalid() {
    let err = Config::from_yaml_unchecked("nope: 1\n", "x.yaml").expect_err("unknown");
    let located = err.invalid().expect("located");
    assert_eq!((located.kind, located.line), (ProblemKind::UnknownKey, 1));
    let read = Config::load(Path::new("/nonexistent/cockpit.yaml")).expect_err("read");
    assert!(read.invalid().is_none());
}
