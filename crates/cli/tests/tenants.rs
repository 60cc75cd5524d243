//! Tenant provisioning and lifecycle through the CLI, on SQLite, MariaDB and PostgreSQL.

mod common;

use common::{fleet, Workdir, bundled, slug};
use std::path::Path;
use std::time::{Duration, Instant};
use tenantry_domain::{DatabaseName, Dialect};
use tenantry_schema::Schema;
use tenantry_testkit::Target;

const SERVERS: [(&str, Dialect); 3] = [("local", Dialect::Sqlite), ("maria", Dialect::Mysql), ("pg", Dialect::Postgres)];



async fn drop_tenant_dbs(w: &Workdir) {
    let list = w.run(&["--json", "tenant", "list"]).json();
    for t in list.as_array().cloned().unwrap_or_default() {
        let _ = w.run(&["tenant", "delete", t["slug"].as_str().unwrap_or(""), "--yes"]);
    }
}

fn write_template(dir: &Path, name: &str, version: &str, seeds: &[(&str, &str)]) {
    std::fs::create_dir_all(dir.join("modules/core")).unwrap();
    std::fs::create_dir_all(dir.join("modules/extra")).unwrap();
    std::fs::write(
        dir.join("template.toml"),
        format!("name = \"{name}\"\ntype = \"custom\"\nversion = \"{version}\"\ndialects = [\"mysql\", \"postgres\", \"sqlite\"]\n\n[modules.core]\ntype = \"core\"\n\n[modules.extra]\ntype = \"optional\"\ndepends_on = [\"core\"]\n"),
    )
    .unwrap();
    std::fs::write(dir.join("modules/core/schema.sql"), "CREATE TABLE things (id INTEGER NOT NULL PRIMARY KEY, label VARCHAR(50) NOT NULL);\n").unwrap();
    std::fs::write(dir.join("modules/extra/schema.sql"), "CREATE TABLE extras (id INTEGER NOT NULL PRIMARY KEY);\n").unwrap();
    for (file, sql) in seeds {
        std::fs::write(dir.join(file), sql).unwrap();
    }
}

#[tokio::test]
async fn fifty_tenants_per_engine_all_equal_to_the_snapshot() {
    let w = fleet();
    w.run(&["template", "import", bundled("political_party").to_str().unwrap()]).ok();
    for (server, dialect) in SERVERS {
        let snap = w.run(&["--json", "template", "snapshot", "political_party", "--dialect", dialect.as_str()]).ok().json();
        let expected: Schema = serde_json::from_value(snap["schema"].clone()).unwrap();
        let prefix = slug(&format!("f{}", &server[..1]));
        // Four CLI processes at a time, as several operators or scripts would.
        let slugs: Vec<String> = (0..50).map(|i| format!("{prefix}-{i}")).collect();
        for chunk in slugs.chunks(4) {
            let children: Vec<_> = chunk
                .iter()
                .map(|s| {
                    let (w_path, s) = (w.path().to_path_buf(), s.clone());
                    let server = server.to_string();
                    std::thread::spawn(move || {
                        std::process::Command::new(env!("CARGO_BIN_EXE_tenantry"))
                            .current_dir(w_path)
                            .env_remove("TENANTRY_LANDLORD_URL")
                            .args(["tenant", "create", &s, "--template", "political_party", "--modules", "elections,fundraising,events", "--server", &server])
                            .output()
                            .unwrap()
                    })
                })
                .collect();
            for c in children {
                let out = c.join().unwrap();
                assert!(out.status.success(), "{server}: {}", String::from_utf8_lossy(&out.stderr));
            }
        }
        let list = w.run(&["--json", "tenant", "list", "--template", "political_party", "--status", "active"]).ok().json();
        let mine: Vec<&serde_json::Value> = list.as_array().unwrap().iter().filter(|t| t["server"] == server).collect();
        assert_eq!(mine.len(), 50, "{server}");
        for t in &mine {
            for key in ["slug", "status", "template", "template_version", "server", "database", "drift_level"] {
                assert!(t.get(key).is_some(), "tenant list --json lacks {key}");
            }
        }
        // Every tenant's live schema is the template's.
        for s in slugs.iter().step_by(7) {
            let live: Schema = serde_json::from_value(w.run(&["--json", "tenant", "schema", s]).ok().json()).unwrap();
            assert_eq!(live.to_json(), expected.to_json(), "{server}/{s}");
        }
        let show = w.run(&["--json", "tenant", "show", &slugs[0]]).ok().json();
        assert_eq!(show["history"][0]["migration_name"], "initial_template_application");
        assert_eq!(show["history"][0]["migration_type"], "template");
        assert!(show["history"][0]["affected_tables"].as_array().unwrap().len() >= 15);
    }
    let servers = w.run(&["--json", "server", "list"]).ok().json();
    assert!(servers.as_array().unwrap().iter().all(|s| s["tenants"] == 50), "{servers}");
    // The version is locked now.
    let t = w.run(&["--json", "template", "show", "political_party", "--version", "1.2.0"]).ok().json();
    assert_eq!(t["versions"][0]["is_locked"], true);
    assert_eq!(t["versions"][0]["used_by"].as_array().unwrap().len(), 150, "which tenants use the version");
    drop_tenant_dbs(&w).await;
}

#[tokio::test]
async fn a_seed_failing_halfway_leaves_nothing_and_a_retry_works_after_the_fix() {
    let w = fleet();
    let src = w.file("tpl");
    // The core seed also fills `extras`, which only the optional module creates: the
    // full build at import works, a tenant without `extra` fails at the seed's 2nd statement.
    write_template(&src, "seedfail", "1.0.0", &[("modules/core/seed.sql", "INSERT INTO things (id, label) VALUES (1, 'one');\nINSERT INTO extras (id) VALUES (1);\n")]);
    w.run(&["template", "import", src.to_str().unwrap()]).ok();
    for (server, dialect) in SERVERS {
        let s = slug(&format!("sf{}", &server[..1]));
        let run = w.run(&["tenant", "create", &s, "--template", "seedfail", "--server", server]).fails_with(1);
        assert!(run.stderr.contains("modules/core/seed.sql") && run.stderr.contains("statement 2"), "{server}: {}", run.stderr);
        let t = w.run(&["--json", "tenant", "list", "--status", "failed"]).ok().json();
        assert!(t.as_array().unwrap().iter().any(|x| x["slug"] == s.as_str()), "{server}: tenant is failed");
        let target = Target::new(dialect).await;
        let db = DatabaseName::new(&format!("tenant_{}", s.replace('-', "_"))).unwrap();
        if dialect != Dialect::Sqlite {
            assert!(!target.driver.database_exists(&db).await.unwrap(), "{server}: no orphan database");
        } else {
            assert!(!w.file(&format!("data/tenants/{db}.db")).exists(), "no orphan SQLite file");
        }
    }
    // Fix the template (1.0.0 is unused, so it may be replaced) and retry the same slugs.
    std::fs::write(src.join("modules/core/seed.sql"), "INSERT INTO things (id, label) VALUES (1, 'one');\n").unwrap();
    assert_eq!(w.run(&["--json", "template", "import", src.to_str().unwrap()]).ok().json()["status"], "replaced");
    let failed = w.run(&["--json", "tenant", "list", "--status", "failed"]).ok().json();
    for t in failed.as_array().unwrap() {
        let s = t["slug"].as_str().unwrap();
        let server = t["server"].as_str().unwrap();
        w.run(&["tenant", "create", s, "--template", "seedfail", "--server", server]).ok();
    }
    assert_eq!(w.run(&["--json", "tenant", "list", "--status", "active"]).ok().json().as_array().unwrap().len(), 3);
    drop_tenant_dbs(&w).await;
}

#[tokio::test]
async fn kill_9_during_provisioning_is_recovered_by_the_next_command() {
    let w = fleet();
    let src = w.file("slow");
    write_template(
        &src,
        "slow",
        "1.0.0",
        &[
            ("modules/core/seed.mysql.sql", "SELECT SLEEP(4);\n"),
            ("modules/core/seed.postgres.sql", "SELECT pg_sleep(4);\n"),
            ("modules/core/seed.sqlite.sql", "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 40000000) SELECT count(*) FROM c;\n"),
        ],
    );
    w.run(&["template", "import", src.to_str().unwrap()]).ok();
    for (server, dialect) in SERVERS {
        let s = slug(&format!("k{}", &server[..1]));
        let db = DatabaseName::new(&format!("tenant_{}", s.replace('-', "_"))).unwrap();
        let target = Target::new(dialect).await;
        let exists = |target: &Target, db: DatabaseName, w: &Workdir| {
            let sqlite_file = w.file(&format!("data/tenants/{db}.db"));
            let driver = target.driver.clone();
            async move {
                if dialect == Dialect::Sqlite {
                    sqlite_file.exists()
                } else {
                    driver.database_exists(&db).await.unwrap()
                }
            }
        };
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tenantry"))
            .current_dir(w.path())
            .env_remove("TENANTRY_LANDLORD_URL")
            .args(["tenant", "create", &s, "--template", "slow", "--server", server, "--method", "replay"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Wait (with a deadline) until its database exists, then kill it mid-seed.
        let deadline = Instant::now() + Duration::from_secs(20);
        while !exists(&target, db.clone(), &w).await {
            assert!(Instant::now() < deadline, "{server}: the database never appeared");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        // The next command, whatever it is, cleans up.
        let list = w.run(&["--json", "tenant", "list"]).ok().json();
        let t = list.as_array().unwrap().iter().find(|t| t["slug"] == s.as_str()).cloned().unwrap();
        assert_eq!(t["status"], "failed", "{server}: {t}");
        assert!(t["status_detail"].as_str().unwrap().contains("interrupted"), "{t}");
        assert!(!exists(&target, db.clone(), &w).await, "{server}: orphan database left");
        assert!(w.run(&["--json", "tenant", "list", "--status", "provisioning"]).ok().json().as_array().unwrap().is_empty());
    }
    drop_tenant_dbs(&w).await;
}

#[tokio::test]
async fn concurrent_creates_of_one_slug_make_exactly_one_tenant() {
    let w = fleet();
    w.run(&["template", "import", bundled("basic").to_str().unwrap()]).ok();
    for (server, _) in SERVERS {
        let s = slug(&format!("r{}", &server[..1]));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (path, s, server) = (w.path().to_path_buf(), s.clone(), server.to_string());
                std::thread::spawn(move || {
                    std::process::Command::new(env!("CARGO_BIN_EXE_tenantry"))
                        .current_dir(path)
                        .env_remove("TENANTRY_LANDLORD_URL")
                        .args(["tenant", "create", &s, "--template", "basic", "--server", &server])
                        .output()
                        .unwrap()
                })
            })
            .collect();
        let outs: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let ok = outs.iter().filter(|o| o.status.success()).count();
        let conflicts = outs.iter().filter(|o| o.status.code() == Some(3) && String::from_utf8_lossy(&o.stderr).contains("already exists")).count();
        assert_eq!((ok, conflicts), (1, 7), "{server}: {:?}", outs.iter().map(|o| String::from_utf8_lossy(&o.stderr).into_owned()).collect::<Vec<_>>());
        let list = w.run(&["--json", "tenant", "list"]).ok().json();
        let mine: Vec<_> = list.as_array().unwrap().iter().filter(|t| t["slug"] == s.as_str()).collect();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0]["status"], "active");
    }
    drop_tenant_dbs(&w).await;
}

#[tokio::test]
async fn each_tenant_login_reaches_its_own_database_only() {
    sqlx::any::install_default_drivers();
    let w = fleet();
    w.run(&["template", "import", bundled("basic").to_str().unwrap()]).ok();
    for server in ["maria", "pg"] {
        let (a, b) = (slug(&format!("a{server}")), slug(&format!("b{server}")));
        w.run(&["tenant", "create", &a, "--template", "basic", "--server", server]).ok();
        w.run(&["tenant", "create", &b, "--template", "basic", "--server", server]).ok();
        let ca = w.run(&["--json", "tenant", "credentials", &a]).ok().json();
        let cb = w.run(&["--json", "tenant", "credentials", &b]).ok().json();
        let scheme = if server == "pg" { "postgres" } else { "mysql" };
        let url = |c: &serde_json::Value, db: &str| {
            format!("{scheme}://{}:{}@{}:{}/{db}", c["username"].as_str().unwrap(), c["password"].as_str().unwrap(), c["host"].as_str().unwrap(), c["port"])
        };
        let db_a = ca["database"].as_str().unwrap();
        let db_b = cb["database"].as_str().unwrap();
        use sqlx::Connection;
        let mut own = sqlx::AnyConnection::connect(&url(&ca, db_a)).await.unwrap_or_else(|e| panic!("{server}: A into A: {e}"));
        let n: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM groups_").fetch_one(&mut own).await.unwrap();
        assert_eq!(n.0, 2, "{server}: the seed is readable");
        sqlx::query("INSERT INTO people (email, display_name) VALUES ('x@example.org', 'X')").execute(&mut own).await.unwrap();
        assert!(sqlx::query("CREATE TABLE sneaky (id INTEGER)").execute(&mut own).await.is_err(), "{server}: no DDL for tenants");
        own.close().await.unwrap();
        // A's login into B's database: refused.
        let cross = sqlx::AnyConnection::connect(&url(&ca, db_b)).await;
        match cross {
            Err(_) => {}
            Ok(mut c) => {
                let read = sqlx::query("SELECT COUNT(*) FROM people").fetch_one(&mut c).await;
                assert!(read.is_err(), "{server}: tenant A read tenant B");
            }
        }
        // Suspend locks A out; resume lets it back in.
        w.run(&["tenant", "suspend", &a]).ok();
        assert!(sqlx::AnyConnection::connect(&url(&ca, db_a)).await.is_err(), "{server}: suspended login still connects");
        assert_eq!(w.run(&["tenant", "credentials", &a]).fails_with(2).code, 2);
        w.run(&["tenant", "resume", &a]).ok();
        sqlx::AnyConnection::connect(&url(&ca, db_a)).await.unwrap_or_else(|e| panic!("{server}: resumed: {e}")).close().await.unwrap();
    }
    drop_tenant_dbs(&w).await;
}

#[tokio::test]
async fn placement_lifecycle_and_hostile_input() {
    let w = fleet();
    w.run(&["template", "import", bundled("basic").to_str().unwrap()]).ok();
    // Placement: least loaded first; a full fleet is a clear error.
    let extra = w.file("small");
    w.run(&["server", "add", "small", &format!("sqlite://{}", extra.display()), "--capacity", "1"]).ok();
    let s1 = slug("p1");
    let t = w.run(&["--json", "tenant", "create", &s1, "--template", "basic"]).ok().json();
    let first = t["server"].as_str().unwrap().to_string();
    assert!(["local", "maria", "pg", "small"].contains(&first.as_str()));
    let full = w.run(&["tenant", "create", &slug("p2"), "--template", "basic", "--server", "small"]);
    if first == "small" {
        assert!(full.fails_with(2).stderr.contains("is full"));
    }
    // Hostile input changes nothing.
    let before = w.run(&["--json", "tenant", "list"]).ok().json();
    for bad in ["Acme", "a;b", "../x", "admin", "a b", "x'--", &"a".repeat(60), "é"] {
        w.run(&["tenant", "create", bad, "--template", "basic"]).fails_with(2);
    }
    w.run(&["tenant", "create", &slug("h1"), "--template", "basic", "--name", "bad\u{7}name"]).fails_with(2);
    w.run(&["tenant", "create", &slug("h2"), "--template", "basic", "--modules", "nope"]).fails_with(2);
    w.run(&["tenant", "create", &slug("h3"), "--template", "missing"]).fails_with(4);
    w.run(&["tenant", "create", &slug("h4"), "--template", "basic", "--version", "9.9.9"]).fails_with(4);
    let after = w.run(&["--json", "tenant", "list"]).ok().json();
    assert_eq!(before.as_array().unwrap().len(), after.as_array().unwrap().len());

    // Delete keeps history in the landlord, drops the database unless asked not to.
    for (server, dialect) in SERVERS {
        let keep = slug(&format!("dk{}", &server[..1]));
        let gone = slug(&format!("dg{}", &server[..1]));
        w.run(&["tenant", "create", &keep, "--template", "basic", "--server", server]).ok();
        w.run(&["tenant", "create", &gone, "--template", "basic", "--server", server]).ok();
        w.run(&["tenant", "delete", &gone]).fails_with(2);
        w.run(&["tenant", "delete", &gone, "--yes"]).ok();
        w.run(&["tenant", "delete", &keep, "--yes", "--keep-database"]).ok();
        w.run(&["tenant", "show", &gone]).fails_with(4);
        let target = Target::new(dialect).await;
        let db = |s: &str| DatabaseName::new(&format!("tenant_{}", s.replace('-', "_"))).unwrap();
        if dialect == Dialect::Sqlite {
            assert!(!w.file(&format!("data/tenants/{}.db", db(&gone))).exists());
            assert!(w.file(&format!("data/tenants/{}.db", db(&keep))).exists());
        } else {
            assert!(!target.driver.database_exists(&db(&gone)).await.unwrap(), "{server}");
            assert!(target.driver.database_exists(&db(&keep)).await.unwrap(), "{server}");
            target.driver.drop_database(&db(&keep)).await.unwrap();
        }
    }
    let landlord = tenantry_store::Landlord::open(&format!("sqlite://{}", w.file("data/landlord.db").display())).await.unwrap();
    let all = landlord.tenants(&tenantry_store::TenantFilter { include_deleted: true, ..Default::default() }).await.unwrap();
    let deleted: Vec<_> = all.iter().filter(|t| t.deleted_at.is_some()).collect();
    assert_eq!(deleted.len(), 6);
    for t in deleted {
        assert_eq!(t.status, "archived");
        assert!(!landlord.history(&t.id).await.unwrap().is_empty(), "history kept");
    }
    landlord.close().await;
    drop_tenant_dbs(&w).await;
}

#[tokio::test]
async fn a_cloned_tenant_equals_a_replayed_one_in_schema_and_data() {
    sqlx::any::install_default_drivers();
    let w = fleet();
    w.run(&["template", "import", bundled("political_party").to_str().unwrap()]).ok();
    for server in ["local", "pg"] {
        let (r, c, c2) = (slug(&format!("rp{server}")), slug(&format!("cl{server}")), slug(&format!("cm{server}")));
        let create = |s: &str, method: &str| {
            w.run(&["--json", "tenant", "create", s, "--template", "political_party", "--modules", "elections,fundraising", "--server", server, "--method", method]).ok()
        };
        create(&r, "replay");
        create(&c, "clone");
        create(&c2, "clone"); // the second one reuses the prepared database
        let history = w.run(&["--json", "history", &c]).ok().json();
        assert!(history[0]["notes"].as_str().unwrap().ends_with("(cloned)"), "{history}");
        let schema = |s: &str| w.run(&["--json", "tenant", "schema", s]).ok().stdout;
        assert_eq!(schema(&r), schema(&c), "{server}: schema");
        assert_eq!(schema(&c), schema(&c2), "{server}: schema");
        // Same seed data; and each clone knows who it is.
        let mut seen = Vec::new();
        for s in [&r, &c, &c2] {
            let creds = w.run(&["--json", "tenant", "credentials", s]).ok().json();
            let url = match server {
                "pg" => format!("postgres://{}:{}@{}:{}/{}", creds["username"].as_str().unwrap(), creds["password"].as_str().unwrap(), creds["host"].as_str().unwrap(), creds["port"], creds["database"].as_str().unwrap()),
                _ => format!("sqlite://{}", creds["database"].as_str().unwrap()),
            };
            use sqlx::Connection;
            let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
            let roles: Vec<(String,)> = sqlx::query_as("SELECT name FROM roles ORDER BY name").fetch_all(&mut conn).await.unwrap();
            let grants: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM role_permissions").fetch_one(&mut conn).await.unwrap();
            let campaigns: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM campaigns").fetch_one(&mut conn).await.unwrap();
            let me: (Option<String>, Option<String>) = sqlx::query_as("SELECT slug, template_version FROM tenant_info").fetch_one(&mut conn).await.unwrap();
            assert_eq!(me.0.as_deref(), Some(s.as_str()), "{server}: tenant_info names the tenant");
            assert_eq!(me.1.as_deref(), Some("1.2.0"));
            seen.push((roles, grants.0, campaigns.0));
            conn.close().await.unwrap();
        }
        assert_eq!(seen[0], seen[1], "{server}: seed data");
        assert_eq!(seen[1], seen[2], "{server}: seed data");
        assert_eq!(seen[0].1, 4 + 2 + 2, "{server}: role_permissions seeded");
    }
    w.run(&["tenant", "create", &slug("mc"), "--template", "political_party", "--server", "maria", "--method", "clone"]).fails_with(2);
    drop_tenant_dbs(&w).await;
}

#[tokio::test]
async fn adopt_takes_an_existing_database_under_management() {
    let w = fleet();
    w.run(&["template", "import", bundled("basic").to_str().unwrap()]).ok();
    let files = tenantry_engine::templates::load::read_dir(&bundled("basic")).unwrap();
    let bundle = tenantry_domain::template::TemplateBundle::from_files(files).unwrap();
    let modules = vec!["core".to_string(), "notes".to_string()];
    for (server, dialect) in SERVERS {
        // An application's database, built outside tenantry with the stock client.
        let db = tenantry_testkit::unique_db("legacy");
        let target = if dialect == Dialect::Sqlite {
            Target { dialect, url: format!("sqlite://{}", w.file("data/tenants").display()), driver: Target::new(dialect).await.driver, _dir: None }
        } else {
            Target::new(dialect).await
        };
        if dialect != Dialect::Sqlite {
            target.driver.create_database(&db).await.unwrap();
        }
        for step in bundle.build_plan(dialect, &modules, &bundle.manifest.version, true) {
            tenantry_testkit::client::run_file(&target, &db, &bundled("basic").join(&step.file)).unwrap();
        }
        let s = slug(&format!("ad{}", &server[..1]));
        let t = w.run(&["--json", "tenant", "adopt", &s, "--database", db.as_str(), "--server", server, "--template", "basic", "--version", "1.2.0"]).ok().json();
        assert_eq!(t["status"], "active");
        assert_eq!(t["modules"], serde_json::json!(["core", "notes"]), "{server}: modules inferred from the tables");
        let h = w.run(&["--json", "history", &s]).ok().json();
        assert_eq!((h[0]["migration_name"].as_str(), h[0]["migration_type"].as_str()), (Some("adopted"), Some("system")));
        // Its schema is the template's (no drift), tenantry's metadata aside.
        let live = w.run(&["--json", "tenant", "schema", &s]).ok().stdout;
        assert!(live.contains("\"notes\"") && !live.contains("tenantry_meta"), "{server}");
        // Twice, or a database that is not there: refused, nothing changed.
        w.run(&["tenant", "adopt", &slug("again"), "--database", db.as_str(), "--server", server, "--template", "basic", "--version", "1.2.0"]).fails_with(3);
        w.run(&["tenant", "adopt", &slug("nodb"), "--database", "no_such_db", "--server", server, "--template", "basic", "--version", "1.2.0"]).fails_with(4);
        w.run(&["tenant", "delete", &s, "--yes"]).ok();
    }
}

#[tokio::test]
async fn users_applications_and_resolving_a_domain() {
    let w = fleet();
    w.run(&["template", "import", bundled("basic").to_str().unwrap()]).ok();
    let (a, b) = (slug("ua"), slug("ub"));
    w.run(&["tenant", "create", &a, "--template", "basic", "--server", "pg"]).ok();
    w.run(&["tenant", "create", &b, "--template", "basic", "--server", "local"]).ok();
    w.run(&["tenant", "user", "add", &a, "Chair@Example.org", "--role", "owner", "--name", "The Chair"]).ok();
    w.run(&["tenant", "user", "add", &a, "chair@example.org"]).fails_with(3);
    for bad in ["not-an-email", "a@b", "x y@example.org"] {
        w.run(&["tenant", "user", "add", &a, bad]).fails_with(2);
    }
    w.run(&["tenant", "user", "add", &a, "x@example.org", "--role", "god"]).fails_with(2);
    let users = w.run(&["--json", "tenant", "user", "list", &a]).ok().json();
    assert_eq!(users[0]["email"], "chair@example.org");
    assert!(!users.to_string().contains("argon2"), "no hash leaves the landlord");

    let domain = format!("{a}.example.org");
    w.run(&["tenant", "app", "add", &a, &domain]).ok();
    w.run(&["tenant", "app", "add", &b, &domain]).fails_with(3);
    for bad in ["UPPER.example.org", "no_underscore.example.org", "nodot", "-x.example.org", "a..b.org"] {
        w.run(&["tenant", "app", "add", &a, bad]).fails_with(2);
    }
    let r = w.run(&["--json", "tenant", "resolve", "--domain", &domain]).ok().json();
    assert_eq!(r["slug"], a.as_str());
    for key in ["host", "port", "database", "username", "password"] {
        assert!(r["credentials"].get(key).is_some(), "{key}");
    }
    assert!(r["credentials"]["username"].as_str().unwrap().starts_with("t_"));
    w.run(&["tenant", "resolve", "--domain", "nobody.example.org"]).fails_with(4);
    let by_slug = w.run(&["--json", "tenant", "resolve", "--slug", &b]).ok().json();
    assert!(by_slug["credentials"]["database"].as_str().unwrap().ends_with(".db"));
    drop_tenant_dbs(&w).await;
}

#[tokio::test]
async fn the_warm_pool_hands_out_verified_databases_and_follows_the_version() {
    sqlx::any::install_default_drivers();
    let w = fleet();
    let src = w.file("pooled-basic");
    std::fs::create_dir_all(&src).unwrap();
    for f in tenantry_engine::templates::load::read_dir(&bundled("basic")).unwrap() {
        let p = src.join(&f.0);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, f.1).unwrap();
    }
    w.run(&["template", "import", src.to_str().unwrap()]).ok();
    let mut cfg = std::fs::read_to_string(w.file("tenantry.toml")).unwrap();
    cfg.push_str("\n[[pool]]\ntemplate = \"basic\"\nmodules = [\"notes\"]\nsize = 2\n");
    std::fs::write(w.file("tenantry.toml"), cfg).unwrap();
    let filled = w.run(&["--json", "pool", "fill"]).ok().json();
    assert_eq!(filled["built"], 6, "{filled}");

    for (server, _) in SERVERS {
        let s = slug(&format!("pl{}", &server[..1]));
        let t = w.run(&["--json", "tenant", "create", &s, "--template", "basic", "--modules", "notes", "--server", server]).ok().json();
        assert_eq!(t["status"], "active");
        let h = w.run(&["--json", "history", &s]).ok().json();
        assert!(h[0]["notes"].as_str().unwrap().ends_with("(pooled)"), "{server}: {h}");
        let snap = w.run(&["--json", "template", "snapshot", "basic", "--dialect", SERVERS.iter().find(|x| x.0 == server).unwrap().1.as_str()]).ok().json();
        let live: Schema = serde_json::from_value(w.run(&["--json", "tenant", "schema", &s]).ok().json()).unwrap();
        let all: Schema = serde_json::from_value(snap["schema"].clone()).unwrap();
        assert_eq!(live.tables.keys().collect::<Vec<_>>(), all.tables.keys().collect::<Vec<_>>(), "{server}");
        // It knows who it is, and its login works.
        let c = w.run(&["--json", "tenant", "credentials", &s]).ok().json();
        let url = match server {
            "local" => format!("sqlite://{}", c["database"].as_str().unwrap()),
            "pg" => format!("postgres://{}:{}@{}:{}/{}", c["username"].as_str().unwrap(), c["password"].as_str().unwrap(), c["host"].as_str().unwrap(), c["port"], c["database"].as_str().unwrap()),
            _ => format!("mysql://{}:{}@{}:{}/{}", c["username"].as_str().unwrap(), c["password"].as_str().unwrap(), c["host"].as_str().unwrap(), c["port"], c["database"].as_str().unwrap()),
        };
        use sqlx::Connection;
        let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap_or_else(|e| panic!("{server}: {e}"));
        let me: (Option<String>,) = sqlx::query_as("SELECT slug FROM tenant_info").fetch_one(&mut conn).await.unwrap();
        assert_eq!(me.0.as_deref(), Some(s.as_str()), "{server}");
        sqlx::query("INSERT INTO notes (person_id, body) SELECT id, 'hi' FROM people WHERE 1 = 0").execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }
    // The CLI refilled after each claim.
    let status = w.run(&["--json", "pool", "status"]).ok().json();
    assert!(status.as_array().unwrap().iter().all(|p| p["ready"] == 2), "{status}");

    // A tampered pooled database is refused at claim time; the create still succeeds.
    let target = Target::new(Dialect::Postgres).await;
    let pooled = target.driver.list_databases(tenantry_engine::tenants::POOL_PREFIX).await.unwrap();
    let landlord = tenantry_store::Landlord::open(&format!("sqlite://{}", w.file("data/landlord.db").display())).await.unwrap();
    let entries = landlord.pool_entries(None).await.unwrap();
    landlord.close().await;
    for e in entries.iter().filter(|e| pooled.contains(&e.database_name)) {
        target.driver.execute_script(&DatabaseName::new(&e.database_name).unwrap(), "DROP TABLE notes;").await.unwrap();
    }
    let s = slug("tamper");
    w.run(&["tenant", "create", &s, "--template", "basic", "--modules", "notes", "--server", "pg"]).ok();
    let h = w.run(&["--json", "history", &s]).ok().json();
    assert!(!h[0]["notes"].as_str().unwrap().ends_with("(pooled)"), "a tampered pooled database must not be used: {h}");
    assert!(w.run(&["--json", "tenant", "schema", &s]).ok().stdout.contains("\"notes\""));

    // A pooled database whose fill fails halfway (its metadata table is gone) fails the
    // create whole: no database under the tenant's name, the pooled one dropped, the
    // tenant `failed`; a retry takes the next entry.
    let pooled = target.driver.list_databases(tenantry_engine::tenants::POOL_PREFIX).await.unwrap();
    let landlord = tenantry_store::Landlord::open(&format!("sqlite://{}", w.file("data/landlord.db").display())).await.unwrap();
    let next = landlord.pool_entries(None).await.unwrap().into_iter().filter(|e| pooled.contains(&e.database_name)).min_by_key(|e| e.id).unwrap();
    landlord.close().await;
    let broken = DatabaseName::new(&next.database_name).unwrap();
    target.driver.execute_script(&broken, "DROP VIEW tenant_info;\nDROP TABLE tenantry_meta;").await.unwrap();
    let f = slug("fillfail");
    let failed = w.run(&["tenant", "create", &f, "--template", "basic", "--modules", "notes", "--server", "pg"]);
    assert_ne!(failed.code, 0, "a broken fill must fail the create: {}", failed.stdout);
    assert_eq!(w.run(&["--json", "tenant", "show", &f]).ok().json()["status"], "failed");
    let own = tenantry_domain::Slug::new(&f).unwrap().default_database();
    assert!(!target.driver.database_exists(&own).await.unwrap(), "no database left under the tenant's name");
    assert!(!target.driver.database_exists(&broken).await.unwrap(), "the broken pooled database was dropped");
    w.run(&["tenant", "create", &f, "--template", "basic", "--modules", "notes", "--server", "pg"]).ok();
    let h = w.run(&["--json", "history", &f]).ok().json();
    assert!(h[0]["notes"].as_str().unwrap().ends_with("(pooled)"), "the retry took the next entry: {h}");

    // The prepared database of 1.2.0 that the pool and the tamper fallback cloned.
    let detail = w.run(&["--json", "template", "show", "basic"]).ok().json();
    let checksum = |d: &serde_json::Value, v: &str| {
        d["versions"].as_array().unwrap().iter().find(|x| x["version"] == v).unwrap()["checksum"].as_str().unwrap().to_string()
    };
    let modules: Vec<String> = serde_json::from_value(w.run(&["--json", "tenant", "show", &s]).ok().json()["modules"].clone()).unwrap();
    let old_prepared = tenantry_engine::tenants::prepared_database_name("basic", "1.2.0", &checksum(&detail, "1.2.0"), &modules).unwrap();
    let local_file = |db: &DatabaseName| w.file(&format!("data/tenants/{db}.db"));
    assert!(target.driver.database_exists(&old_prepared).await.unwrap(), "pg: {old_prepared} was built");
    assert!(local_file(&old_prepared).exists(), "local: {old_prepared} was built");

    // A prepared database this landlord did not build (another installation's on the
    // shared server) is never swept.
    let foreign = DatabaseName::new(&format!("{}{}", tenantry_engine::tenants::PREPARED_PREFIX, &slug("f").replace('-', "_"))).unwrap();
    target.driver.create_database(&foreign).await.unwrap();
    // Nor a pooled one of another installation, however old (born at 0).
    let foreign_pooled = DatabaseName::new(&format!("{}00000000_0_{:08x}", tenantry_engine::tenants::POOL_PREFIX, std::process::id())).unwrap();
    target.driver.create_database(&foreign_pooled).await.unwrap();

    // A new version invalidates the pool: refill drops the old entries, builds new ones.
    let m = std::fs::read_to_string(src.join("template.toml")).unwrap().replace("version = \"1.2.0\"", "version = \"1.3.0\"");
    std::fs::write(src.join("template.toml"), m).unwrap();
    let mig = src.join("migrations/0004_noop");
    std::fs::create_dir_all(&mig).unwrap();
    std::fs::write(mig.join("migration.toml"), "version = \"1.3.0\"\n").unwrap();
    std::fs::write(mig.join("up.sql"), "CREATE INDEX idx_people_name ON people (display_name);\n").unwrap();
    std::fs::write(mig.join("down.sql"), "DROP INDEX idx_people_name;\n").unwrap();
    std::fs::write(mig.join("down.mysql.sql"), "DROP INDEX idx_people_name ON people;\n").unwrap();
    for d in ["mysql", "postgres", "sqlite"] {
        let p = src.join(format!("modules/core/schema.{d}.sql"));
        let text = std::fs::read_to_string(&p).unwrap() + "CREATE INDEX idx_people_name ON people (display_name);\n";
        std::fs::write(p, text).unwrap();
    }
    w.run(&["template", "import", src.to_str().unwrap()]).ok();
    let refill = w.run(&["--json", "pool", "fill"]).ok().json();
    assert!(refill["dropped"].as_u64().unwrap() >= 5, "{refill}");
    assert!(refill["entries"].as_array().unwrap().iter().all(|e| e["version"] == "1.3.0" && e["ready"] == 2), "{refill}");
    // ...and the prepared databases of 1.2.0 with them; 1.3.0's are the ones in use.
    let detail = w.run(&["--json", "template", "show", "basic"]).ok().json();
    let new_prepared = tenantry_engine::tenants::prepared_database_name("basic", "1.3.0", &checksum(&detail, "1.3.0"), &modules).unwrap();
    assert!(!target.driver.database_exists(&old_prepared).await.unwrap(), "pg: {old_prepared} was swept");
    assert!(!local_file(&old_prepared).exists(), "local: {old_prepared} was swept");
    assert!(target.driver.database_exists(&new_prepared).await.unwrap(), "pg: {new_prepared} is kept");
    assert!(local_file(&new_prepared).exists(), "local: {new_prepared} is kept");
    assert!(target.driver.database_exists(&foreign).await.unwrap(), "pg: {foreign} is not this landlord's to sweep");
    assert!(target.driver.database_exists(&foreign_pooled).await.unwrap(), "pg: {foreign_pooled} is not this installation's to sweep");
    target.driver.drop_database(&foreign).await.unwrap();
    target.driver.drop_database(&foreign_pooled).await.unwrap();
    // A create of the old version still clones: it builds its prepared database again
    // (which the CLI's refill after the create sweeps once more).
    let old = slug("oldver");
    w.run(&["tenant", "create", &old, "--template", "basic", "--version", "1.2.0", "--modules", "notes", "--server", "pg", "--method", "clone"]).ok();
    let h = w.run(&["--json", "history", &old]).ok().json();
    assert!(h[0]["notes"].as_str().unwrap().ends_with("(cloned)"), "{h}");
    let tables = |x: &str| serde_json::from_value::<Schema>(w.run(&["--json", "tenant", "schema", x]).ok().json()).unwrap().tables.keys().cloned().collect::<Vec<_>>();
    assert_eq!(tables(&old), tables(&s), "the rebuilt clone has 1.2.0's tables");
    drop_tenant_dbs(&w).await;
    // Lowering the size drains the pool: no pooled databases left on the servers.
    let landlord = tenantry_store::Landlord::open(&format!("sqlite://{}", w.file("data/landlord.db").display())).await.unwrap();
    let entries = landlord.pool_entries(None).await.unwrap();
    let mut cfg = std::fs::read_to_string(w.file("tenantry.toml")).unwrap();
    cfg = cfg.replace("size = 2", "size = 0");
    std::fs::write(w.file("tenantry.toml"), cfg).unwrap();
    let drained = w.run(&["--json", "pool", "fill"]).ok().json();
    assert!(drained["dropped"].as_u64().unwrap() as usize >= entries.len(), "{drained}");
    assert!(landlord.pool_entries(None).await.unwrap().is_empty());
    landlord.close().await;
    let maria = Target::new(Dialect::Mysql).await;
    for e in &entries {
        let db = DatabaseName::new(&e.database_name).unwrap();
        assert!(!target.driver.database_exists(&db).await.unwrap() && !maria.driver.database_exists(&db).await.unwrap(), "{db} was dropped");
        assert!(!local_file(&db).exists(), "{db} was dropped");
    }
}
