//! Fleet rollouts through the CLI on SQLite, MariaDB and PostgreSQL.

mod common;

use common::{fleet, Workdir, bundled, slug, cleanup};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tenantry_domain::Dialect;
use tenantry_testkit::proxy::Proxy;

const SERVERS: [(&str, Dialect); 3] = [("local", Dialect::Sqlite), ("maria", Dialect::Mysql), ("pg", Dialect::Postgres)];





/// A copy of the basic template whose 1.1.0 migration sleeps a little per tenant (so
/// a rollout can be interrupted) and adds a column.
fn slow_template(w: &Workdir, name: &str) -> PathBuf {
    let dir = w.file(name);
    std::fs::create_dir_all(dir.join("modules/core")).unwrap();
    std::fs::create_dir_all(dir.join("migrations/0002_add_phone")).unwrap();
    std::fs::write(dir.join("template.toml"), format!("name = \"{name}\"\ntype = \"custom\"\nversion = \"1.1.0\"\ndialects = [\"mysql\", \"postgres\", \"sqlite\"]\n[modules.core]\ntype = \"core\"\n")).unwrap();
    std::fs::write(dir.join("modules/core/schema.sql"), "CREATE TABLE people (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(50) NOT NULL, phone VARCHAR(30) NULL);\n").unwrap();
    let m = dir.join("migrations/0002_add_phone");
    std::fs::write(m.join("migration.toml"), "version = \"1.1.0\"\nmin_template_version = \"1.0.0\"\n").unwrap();
    std::fs::write(m.join("up.sql"), "ALTER TABLE people ADD COLUMN phone VARCHAR(30) NULL;\n").unwrap();
    std::fs::write(m.join("up.mysql.sql"), "DO SLEEP(0.05);\nALTER TABLE people ADD COLUMN phone VARCHAR(30) NULL;\n").unwrap();
    std::fs::write(m.join("up.postgres.sql"), "SELECT pg_sleep(0.05);\nALTER TABLE people ADD COLUMN phone VARCHAR(30) NULL;\n").unwrap();
    std::fs::write(m.join("down.sql"), "ALTER TABLE people DROP COLUMN phone;\n").unwrap();
    dir
}

#[test]
fn plan_apply_history_and_rollback_on_every_engine() {
    let w = fleet();
    w.run(&["template", "import", bundled("political_party").to_str().unwrap()]).ok();
    let mut made = Vec::new();
    for (server, _) in SERVERS {
        let with = slug(&format!("w{server}"));
        let without = slug(&format!("o{server}"));
        w.run(&["tenant", "create", &with, "--template", "political_party", "--version", "1.0.0", "--modules", "fundraising", "--server", server]).ok();
        w.run(&["tenant", "create", &without, "--template", "political_party", "--version", "1.0.0", "--server", server]).ok();
        made.push((server, with, without));
    }
    let before: Vec<String> = made.iter().map(|(_, s, _)| w.run(&["--json", "tenant", "schema", s]).ok().stdout).collect();

    let plan = w.run(&["--json", "migrate", "plan", "--template", "political_party"]).ok().json();
    for p in plan.as_array().unwrap() {
        let steps = p["steps"].as_array().unwrap();
        assert_eq!(steps[0]["action"], "apply");
        let fundraising = made.iter().any(|(_, s, _)| p["slug"] == s.as_str());
        if fundraising {
            assert_eq!(steps[1]["action"], "apply");
        } else {
            assert_eq!(steps[1]["reason"], "module `fundraising` is not installed", "{p}");
        }
    }
    let r = w.run(&["--json", "migrate", "apply", "--template", "political_party", "--concurrency", "3"]).ok().json();
    for key in ["rollout_id", "applied", "skipped", "failed", "customized"] {
        assert!(r.get(key).is_some(), "summary lacks {key}: {r}");
    }
    assert_eq!((r["status"].as_str(), r["applied"].as_i64(), r["skipped"].as_i64(), r["failed"].as_i64()), (Some("completed"), Some(9), Some(3), Some(0)), "{r}");
    let status = w.run(&["--json", "migrate", "status"]).ok().json();
    assert_eq!(status[0]["rollout_id"], r["rollout_id"]);
    assert_eq!(status[0]["status"], "completed");

    for (server, with, without) in &made {
        for s in [with, without] {
            let t = w.run(&["--json", "tenant", "show", s]).ok().json();
            assert_eq!(t["template_version"], "1.2.0", "{server}/{s}: the chain completes to the target");
        }
        let h = w.run(&["--json", "history", with]).ok().json();
        let names: Vec<&str> = h.as_array().unwrap().iter().map(|x| x["migration_name"].as_str().unwrap()).collect();
        assert_eq!(names, ["initial_template_application", "0002_member_notes", "0003_donation_receipts"], "{server}");
        for entry in &h.as_array().unwrap()[1..] {
            for key in ["migration_name", "migration_type", "status", "checksum", "execution_time_ms", "applied_at"] {
                assert!(!entry[key].is_null(), "{server}: history lacks {key}");
            }
            assert_eq!(entry["migration_type"], "template");
        }
        assert_eq!(h[1]["affected_tables"], serde_json::json!(["members"]), "{server}: {}", h[1]);
        // A fresh apply runs the step: nothing to confirm from the tenant's ledger.
        // (On MariaDB a cached prepared statement once read another tenant's ledger
        // over a connection moved on with USE, and the step was "confirmed" unrun.)
        assert!(h[1]["notes"].is_null(), "{server}: 0002 was settled, not applied: {}", h[1]);
        // Same schema as a tenant created at 1.2.0 with the same modules.
        let fresh = slug(&format!("f{server}"));
        w.run(&["tenant", "create", &fresh, "--template", "political_party", "--modules", "fundraising", "--server", server]).ok();
        assert_eq!(w.run(&["--json", "tenant", "schema", with]).ok().stdout, w.run(&["--json", "tenant", "schema", &fresh]).ok().stdout, "{server}");
    }
    // A second apply has nothing to do.
    let again = w.run(&["--json", "migrate", "apply", "--template", "political_party"]).ok().json();
    assert_eq!(again["applied"], 0);

    // Rollback restores the schema exactly, with history of type rollback.
    for (i, (server, with, _)) in made.iter().enumerate() {
        let v = w.run(&["--json", "migrate", "rollback", with, "--to", "1.0.0"]).ok().json();
        assert_eq!(v["template_version"], "1.0.0");
        assert_eq!(w.run(&["--json", "tenant", "schema", with]).ok().stdout, before[i], "{server}: rollback restores the schema");
        let h = w.run(&["--json", "history", with]).ok().json();
        let rb: Vec<_> = h.as_array().unwrap().iter().filter(|x| x["migration_type"] == "rollback").collect();
        assert_eq!(rb.len(), 2, "{server}");
        w.run(&["migrate", "rollback", with]).fails_with(2); // nothing older than 1.0.0
    }
    // And forward again: exactly the applied schema.
    let r = w.run(&["--json", "migrate", "apply", "--template", "political_party"]).ok().json();
    assert_eq!(r["applied"], 6, "{r}");
    cleanup(&w);
}

#[test]
fn a_conflicting_tenant_fails_alone_and_the_threshold_halts() {
    let w = fleet();
    let src = slow_template(&w, "conflicting");
    w.run(&["template", "import", src.to_str().unwrap()]).ok();
    for (server, _) in SERVERS {
        let slugs: Vec<String> = (0..4).map(|i| slug(&format!("c{server}{i}"))).collect();
        for s in &slugs {
            w.run(&["tenant", "create", s, "--template", "conflicting", "--version", "1.0.0", "--server", server]).ok();
        }
        // One tenant already has the column the migration adds.
        let creds = w.run(&["--json", "tenant", "credentials", &slugs[1]]).ok().json();
        let _ = creds;
        let db = tenantry_domain::DatabaseName::new(&format!("tenant_{}", slugs[1].replace('-', "_"))).unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let target = match server {
                "local" => tenantry_testkit::Target { dialect: Dialect::Sqlite, url: format!("sqlite://{}", w.file("data/tenants").display()), driver: tenantry_testkit::Target::new(Dialect::Sqlite).await.driver, _dir: None },
                "maria" => tenantry_testkit::Target::new(Dialect::Mysql).await,
                _ => tenantry_testkit::Target::new(Dialect::Postgres).await,
            };
            let file = w.file("conflict.sql");
            std::fs::write(&file, "ALTER TABLE people ADD COLUMN phone VARCHAR(30) NULL;\n").unwrap();
            tenantry_testkit::client::run_file(&target, &db, &file).unwrap();
        });
        // `plan` predicts it from the live schema.
        let plan = w.run(&["--json", "migrate", "plan", "--tenants", &slugs.join(",")]).ok().json();
        for p in plan.as_array().unwrap() {
            let expected = if p["slug"] == slugs[1].as_str() { "would_fail" } else { "apply" };
            assert_eq!(p["steps"][0]["action"], expected, "{server}: {p}");
        }
        assert!(plan.to_string().contains("column `people.phone`"), "{plan}");
        let r = w.run(&["--json", "migrate", "apply", "--tenants", &slugs.join(","), "--max-failures", "1"]).ok().json();
        assert_eq!((r["applied"].as_i64(), r["failed"].as_i64()), (Some(3), Some(1)), "{server}: {r}");
        assert_eq!(r["status"], "completed_with_failures");
        let steps = w.run(&["migrate", "status", &r["rollout_id"].to_string()]).ok().stdout;
        assert!(steps.contains(&slugs[1]) && steps.contains("failed"), "{steps}");
        let t = w.run(&["--json", "tenant", "show", &slugs[1]]).ok().json();
        assert_eq!(t["template_version"], "1.0.0", "a failed tenant keeps its version");
        assert_eq!(w.run(&["--json", "history", &slugs[1]]).ok().json()[1]["status"], "failed");
    }
    // A canary that fails stops the rest.
    let mut slugs: Vec<String> = (0..3).map(|i| slug(&format!("k{i}"))).collect();
    slugs.sort(); // the canary wave is the first tenants by slug
    for s in &slugs {
        w.run(&["tenant", "create", s, "--template", "conflicting", "--version", "1.0.0", "--server", "local"]).ok();
    }
    let db = w.file(&format!("data/tenants/tenant_{}.db", slugs[0].replace('-', "_")));
    std::process::Command::new("sqlite3").arg(&db).arg("ALTER TABLE people ADD COLUMN phone VARCHAR(30) NULL;").status().unwrap();
    let r = w.run(&["--json", "migrate", "apply", "--tenants", &slugs.join(","), "--canary", "1", "--max-failures", "5"]).ok().json();
    assert_eq!((r["status"].as_str(), r["failed"].as_i64(), r["pending"].as_i64()), (Some("halted"), Some(1), Some(2)), "{r}");
    cleanup(&w);
}

#[test]
fn tampered_migrations_are_refused() {
    let w = fleet();
    w.run(&["template", "import", bundled("basic").to_str().unwrap()]).ok();
    let s = slug("tamper");
    w.run(&["tenant", "create", &s, "--template", "basic", "--version", "1.0.0", "--server", "local"]).ok();
    w.run(&["migrate", "apply", "--tenants", &s, "--to", "1.1.0"]).ok();
    let db = w.file("data/landlord.db");
    std::process::Command::new("sqlite3").arg(&db).arg("UPDATE tenant_applied_migrations SET checksum = 'forged'").status().unwrap();
    let plan = w.run(&["--json", "migrate", "plan", "--tenants", &s]).ok().json();
    let reason = plan[0]["steps"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("0002_people_phone") && reason.contains("checksum"), "{reason}");
    cleanup(&w);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_rollout_then_resume_applies_each_tenant_exactly_once() {
    let w = fleet();
    let src = slow_template(&w, "killable");
    w.run(&["template", "import", src.to_str().unwrap()]).ok();
    let landlord_url = format!("sqlite://{}", w.file("data/landlord.db").display());
    for (server, count) in [("pg", 200usize), ("maria", 200), ("local", 60)] {
        // Tenants made in-process: faster than 200 CLI runs.
        let engine = tenantry_engine::Engine::open(tenantry_engine::Config::load(&tenantry_engine::ConfigOverrides {
            config_file: Some(w.file("tenantry.toml")),
            landlord: None,
        }).unwrap()).await.unwrap();
        let prefix = slug(&format!("x{server}"));
        for i in 0..count {
            engine
                .create_tenant(tenantry_engine::tenants::CreateTenant {
                    slug: format!("{prefix}-{i}"),
                    template: "killable".into(),
                    version: Some("1.0.0".into()),
                    server: Some(server.into()),
                    actor: "test".into(),
                    ..Default::default()
                })
                .await
                .unwrap();
        }
        engine.close().await;
        let slugs: Vec<String> = (0..count).map(|i| format!("{prefix}-{i}")).collect();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tenantry"))
            .current_dir(w.path())
            .args(["migrate", "apply", "--tenants", &slugs.join(","), "--concurrency", "2"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Kill it once a fifth of the fleet is done (deadline: 60 s).
        let landlord = tenantry_store::Landlord::open(&landlord_url).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let rollout_id = loop {
            if let Some(r) = landlord.rollouts().await.unwrap().first() {
                if r.applied as usize >= count / 5 && r.status == "running" {
                    break r.rollout_id;
                }
            }
            assert!(Instant::now() < deadline, "{server}: the rollout never got going");
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        child.kill().unwrap();
        child.wait().unwrap();
        let mid = landlord.rollout(rollout_id).await.unwrap().unwrap();
        assert!((mid.applied as usize) < count, "{server}: killed too late to prove anything");
        let r = tokio::task::spawn_blocking({
            let path = w.path().to_path_buf();
            move || {
                std::process::Command::new(env!("CARGO_BIN_EXE_tenantry")).current_dir(path).args(["--json", "migrate", "resume", &rollout_id.to_string()]).output().unwrap()
            }
        })
        .await
        .unwrap();
        assert!(r.status.success(), "{server}: {}", String::from_utf8_lossy(&r.stderr));
        let done: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
        assert_eq!((done["status"].as_str(), done["applied"].as_u64(), done["failed"].as_u64()), (Some("completed"), Some(count as u64), Some(0)), "{server}: {done}");
        // Exactly once: one history row per tenant for the migration, all at 1.1.0.
        for s in &slugs {
            let t = landlord.tenant(s).await.unwrap().unwrap();
            let h = landlord.history(&t.id).await.unwrap();
            let applied: Vec<_> = h.iter().filter(|x| x.migration_name == "0002_add_phone" && x.status == "applied").collect();
            assert_eq!(applied.len(), 1, "{server}/{s}: {h:?}");
            assert_eq!(t.template_version.as_deref(), Some("1.1.0"));
        }
        landlord.close().await;
    }
    cleanup(&w);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_going_down_fails_steps_halts_and_retry_completes() {
    let w = fleet();
    let src = slow_template(&w, "flaky");
    w.run(&["template", "import", src.to_str().unwrap()]).ok();
    for (name, real) in [("flaky-pg", "127.0.0.1:5432"), ("flaky-maria", "127.0.0.1:3306")] {
        let proxy = Proxy::start(real).await;
        let url = if name == "flaky-pg" { format!("postgres://postgres@127.0.0.1:{}", proxy.port) } else { format!("mysql://root@127.0.0.1:{}", proxy.port) };
        w.run(&["server", "add", name, &url, "--max-concurrency", "1"]).ok();
        let slugs: Vec<String> = (0..12).map(|i| slug(&format!("d{i}{}", &name[6..7]))).collect();
        for s in &slugs {
            w.run(&["tenant", "create", s, "--template", "flaky", "--version", "1.0.0", "--server", name]).ok();
        }
        let path = w.path().to_path_buf();
        let list = slugs.join(",");
        let apply = tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_tenantry"))
                .current_dir(path)
                .args(["--json", "migrate", "apply", "--tenants", &list, "--concurrency", "1", "--max-failures", "2"])
                .output()
                .unwrap()
        });
        // Take the server down after a few tenants.
        let landlord = tenantry_store::Landlord::open(&format!("sqlite://{}", w.file("data/landlord.db").display())).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let r = landlord.rollouts().await.unwrap();
            if r.first().is_some_and(|r| r.applied >= 3 && r.status == "running") {
                break;
            }
            assert!(Instant::now() < deadline, "{name}: the rollout never got going");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        proxy.down();
        let out = apply.await.unwrap();
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{name}: {}", String::from_utf8_lossy(&out.stderr)));
        assert_eq!(r["status"], "halted", "{name}: {r}");
        // Steps refused by the down server are `failed`; one cut mid-step is `running`
        // (its outcome unknown until the server is back). Three failures in all.
        assert_eq!(r["failed"].as_i64().unwrap() + r["running"].as_i64().unwrap(), 3, "{name}: halts once failures pass --max-failures 2: {r}");
        assert!(r["pending"].as_i64().unwrap() > 0, "{r}");
        let id = r["rollout_id"].to_string();
        let status = w.run(&["migrate", "status", &id]).ok().stdout;
        assert!(status.contains("failed"), "{status}");
        // The server is back: retry finishes it, each tenant exactly once.
        proxy.up();
        let done = w.run(&["--json", "migrate", "retry", &id]).ok().json();
        assert_eq!((done["status"].as_str(), done["applied"].as_i64(), done["failed"].as_i64()), (Some("completed"), Some(12), Some(0)), "{name}: {done}");
        for s in &slugs {
            let t = landlord.tenant(s).await.unwrap().unwrap();
            let applied = landlord.history(&t.id).await.unwrap().into_iter().filter(|h| h.migration_name == "0002_add_phone" && h.status == "applied").count();
            assert_eq!(applied, 1, "{name}/{s}");
        }
        landlord.close().await;
        for s in &slugs {
            w.run(&["tenant", "delete", s, "--yes"]).ok();
        }
    }
    cleanup(&w);
}

#[test]
fn a_migration_touching_a_customized_object_is_not_applied_blindly() {
    let w = fleet();
    w.run(&["template", "import", bundled("political_party").to_str().unwrap()]).ok();
    let mut custom = Vec::new();
    let mut plain = Vec::new();
    for (server, _) in SERVERS {
        let (c, p) = (slug(&format!("cu{server}")), slug(&format!("pl{server}")));
        w.run(&["tenant", "create", &c, "--template", "political_party", "--version", "1.0.0", "--server", server]).ok();
        w.run(&["tenant", "create", &p, "--template", "political_party", "--version", "1.0.0", "--server", server]).ok();
        custom.push(c);
        plain.push(p);
    }
    // The tenant has its own `members.notes` (an applied customization); 0002 adds one too.
    let landlord = w.file("data/landlord.db");
    for c in &custom {
        let sql = format!(
            "INSERT INTO tenant_customizations (tenant_id, customization_type, object_name, definition_sql, status, is_active, created_at, updated_at) \
             SELECT id, 'column', 'members.notes', 'ALTER TABLE members ADD COLUMN notes TEXT', 'applied', 1, 'now', 'now' FROM tenants WHERE slug = '{c}'"
        );
        assert!(std::process::Command::new("sqlite3").arg(&landlord).arg(sql).status().unwrap().success());
    }
    let plan = w.run(&["--json", "migrate", "plan", "--tenants", &custom.join(",")]).ok().json();
    for p in plan.as_array().unwrap() {
        assert_eq!(p["steps"][0]["action"], "customized", "{p}");
        assert!(p["steps"][0]["reason"].as_str().unwrap().contains("column `members.notes`"), "{p}");
    }
    let all: Vec<String> = custom.iter().chain(plain.iter()).cloned().collect();
    let r = w.run(&["--json", "migrate", "apply", "--tenants", &all.join(",")]).ok().json();
    assert_eq!((r["customized"].as_i64(), r["applied"].as_i64(), r["failed"].as_i64()), (Some(3), Some(3), Some(0)), "{r}");
    let text = w.run(&["migrate", "status", &r["rollout_id"].to_string()]).ok().stdout;
    assert!(text.contains("customized") && text.contains("members.notes"), "{text}");
    for c in &custom {
        assert_eq!(w.run(&["--json", "tenant", "show", c]).ok().json()["template_version"], "1.0.0", "a customized tenant waits");
    }
    for p in &plain {
        assert_eq!(w.run(&["--json", "tenant", "show", p]).ok().json()["template_version"], "1.2.0");
    }
    cleanup(&w);
}

#[tokio::test]
async fn a_failing_rollback_changes_nothing_and_says_so() {
    // A view over the column the down step drops makes DROP COLUMN fail on PostgreSQL
    // and SQLite (MySQL drops it and breaks the view, so it cannot show this path).
    let w = fleet();
    w.run(&["template", "import", bundled("basic").to_str().unwrap()]).ok();
    for (server, dialect) in [("local", Dialect::Sqlite), ("pg", Dialect::Postgres)] {
        let s = slug(&format!("rbf{server}"));
        w.run(&["tenant", "create", &s, "--template", "basic", "--version", "1.0.0", "--server", server]).ok();
        w.run(&["migrate", "apply", "--tenants", &s, "--to", "1.1.0"]).ok();
        let db = tenantry_domain::DatabaseName::new(&format!("tenant_{}", s.replace('-', "_"))).unwrap();
        let target = match dialect {
            Dialect::Sqlite => tenantry_testkit::Target {
                dialect,
                url: format!("sqlite://{}", w.file("data/tenants").display()),
                driver: tenantry_testkit::Target::new(dialect).await.driver,
                _dir: None,
            },
            _ => tenantry_testkit::Target::new(dialect).await,
        };
        let view = w.file("view.sql");
        std::fs::write(&view, "CREATE VIEW phone_book AS SELECT phone FROM people;\n").unwrap();
        tenantry_testkit::client::run_file(&target, &db, &view).unwrap();
        let before = w.run(&["--json", "tenant", "schema", &s]).ok().stdout;

        let run = w.run(&["migrate", "rollback", &s, "--to", "1.0.0"]).fails_with(2);
        assert!(run.stderr.contains("0002_people_phone") && run.stderr.contains("down.sql"), "{server}: {}", run.stderr);
        assert_eq!(w.run(&["--json", "tenant", "show", &s]).ok().json()["template_version"], "1.1.0", "{server}: version kept");
        assert_eq!(w.run(&["--json", "tenant", "schema", &s]).ok().stdout, before, "{server}: the tenant database is untouched");
        let h = w.run(&["--json", "history", &s]).ok().json();
        let last = h.as_array().unwrap().last().unwrap().clone();
        assert_eq!((last["migration_type"].as_str(), last["status"].as_str()), (Some("rollback"), Some("failed")), "{server}: {last}");
        // The step still counts as applied: a later apply has nothing to do.
        assert_eq!(w.run(&["--json", "migrate", "apply", "--tenants", &s, "--to", "1.1.0"]).ok().json()["applied"], 0);

        // Remove the obstacle: the rollback goes through.
        std::fs::write(&view, "DROP VIEW phone_book;\n").unwrap();
        tenantry_testkit::client::run_file(&target, &db, &view).unwrap();
        w.run(&["migrate", "rollback", &s, "--to", "1.0.0"]).ok();
        assert_eq!(w.run(&["--json", "tenant", "show", &s]).ok().json()["template_version"], "1.0.0");
    }
    cleanup(&w);
}
