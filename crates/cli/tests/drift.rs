//! Customizations and drift through the CLI on SQLite, MariaDB and PostgreSQL:
//! the workflow, hostile SQL, no false positives, every drift kind found on exactly
//! the tenant it was injected into, repaired, and accepted.

mod common;

use common::{Workdir, bundled, slug, cleanup};
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::{Command, Stdio};

const SERVERS: [&str; 3] = ["local", "maria", "pg"];


/// A fleet with political_party imported.
fn fleet() -> Workdir {
    let w = common::fleet();
    w.run(&["template", "import", bundled("political_party").to_str().unwrap()]).ok();
    w
}



/// Runs SQL in a tenant's database with the engine's own client, behind tenantry's
/// back: how drift happens in real life.
fn inject(w: &Workdir, slug: &str, sql: &str) {
    let t = w.run(&["--json", "tenant", "show", slug]).ok().json();
    let db = t["database"].as_str().unwrap().to_string();
    let mut cmd = match t["server"].as_str().unwrap() {
        "maria" => {
            let mut c = Command::new("mysql");
            c.args(["-h", "127.0.0.1", "-P", "3306", "-u", "root", "--batch", &db]);
            c
        }
        "pg" => {
            let mut c = Command::new("psql");
            c.args(["-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "-d", &db, "-q", "-v", "ON_ERROR_STOP=1", "-X"]);
            c
        }
        _ => {
            let mut c = Command::new("sqlite3");
            c.args(["-bail", w.file(&format!("data/tenants/{db}.db")).to_str().unwrap()]);
            c
        }
    };
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("client");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(sql.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success() && out.stderr.is_empty(), "injecting into {slug}: {}\n{sql}", String::from_utf8_lossy(&out.stderr));
}

fn scan(w: &Workdir, tenants: &[&str]) -> Value {
    w.run(&["--json", "drift", "scan", "--tenants", &tenants.join(","), "--concurrency", "4"]).ok().json()
}

fn tenant<'a>(report: &'a Value, slug: &str) -> &'a Value {
    report["tenants"].as_array().unwrap().iter().find(|t| t["slug"] == slug).unwrap_or_else(|| panic!("{slug} not in {report}"))
}

fn diff_set(t: &Value) -> BTreeSet<String> {
    t["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let path = match d["table"].as_str() {
                Some(table) if d["object"] != "table" => format!("{table}.{}", d["name"].as_str().unwrap()),
                _ => d["name"].as_str().unwrap().to_string(),
            };
            format!("{} {} {path}", d["change"].as_str().unwrap(), d["object"].as_str().unwrap())
        })
        .collect()
}

#[test]
fn customization_workflow_and_no_false_positives_on_every_engine() {
    let w = fleet();
    let sql = w.file("nickname.sql");
    std::fs::write(&sql, "ALTER TABLE members ADD COLUMN nickname VARCHAR(50) NULL;\n").unwrap();
    let mut all = Vec::new();
    for server in SERVERS {
        let fresh = slug(&format!("fresh{server}"));
        let migrated = slug(&format!("mig{server}"));
        let custom = slug(&format!("cus{server}"));
        w.run(&["tenant", "create", &fresh, "--template", "political_party", "--server", server, "--modules", "fundraising"]).ok();
        w.run(&["tenant", "create", &migrated, "--template", "political_party", "--version", "1.0.0", "--server", server]).ok();
        w.run(&["tenant", "create", &custom, "--template", "political_party", "--server", server]).ok();
        w.run(&["migrate", "apply", "--tenants", &migrated]).ok();

        // requested → approved → applied, with who and when.
        let c = w.run(&["--json", "custom", "request", &custom, "--type", "column", "--name", "members.nickname", "--sql", sql.to_str().unwrap()]).ok().json();
        assert_eq!((c["status"].as_str(), c["type"].as_str()), (Some("requested"), Some("column")), "{c}");
        assert!(c["created_by"].as_str().unwrap().starts_with("cli:"));
        assert_eq!(c["template_base_version"], "1.2.0");
        let id = c["id"].to_string();
        w.run(&["custom", "apply", &id]).fails_with(2); // not approved yet
        let a = w.run(&["--json", "custom", "approve", &id]).ok().json();
        assert_eq!(a["status"], "approved");
        assert!(a["reviewed_at"].is_string());
        w.run(&["custom", "approve", &id]).fails_with(2); // twice: refused
        let applied = w.run(&["--json", "custom", "apply", &id]).ok().json();
        assert_eq!(applied["status"], "applied", "{server}");
        let t = w.run(&["--json", "tenant", "show", &custom]).ok().json();
        assert_eq!(t["customization_count"], 1, "{server}");
        let schema = w.run(&["--json", "tenant", "schema", &custom]).ok().json();
        assert!(schema["tables"]["members"]["columns"].as_array().unwrap().iter().any(|c| c["name"] == "nickname"), "{server}");
        let h = w.run(&["--json", "history", &custom]).ok().json();
        let last = h.as_array().unwrap().last().unwrap().clone();
        assert_eq!((last["migration_type"].as_str(), last["status"].as_str()), (Some("custom"), Some("applied")), "{server}: {last}");
        assert_eq!(last["affected_tables"], serde_json::json!(["members"]));

        // A rejected one says why and cannot be approved after.
        let idx = w.file("idx.sql");
        std::fs::write(&idx, "CREATE INDEX idx_members_phone ON members (phone)").unwrap();
        let r = w.run(&["--json", "custom", "request", &custom, "--type", "index", "--name", "idx_members_phone", "--sql", idx.to_str().unwrap()]).ok().json();
        let rid = r["id"].to_string();
        w.run(&["custom", "reject", &rid, "--reason", " "]).fails_with(2);
        let rj = w.run(&["--json", "custom", "reject", &rid, "--reason", "use the search service"]).ok().json();
        assert_eq!((rj["status"].as_str(), rj["reason"].as_str()), (Some("rejected"), Some("use the search service")));
        w.run(&["custom", "approve", &rid]).fails_with(2);

        // A customization that fails when applied leaves nothing: no table, no record.
        let half = w.file("half.sql");
        std::fs::write(&half, "CREATE TABLE notes_extra (id INTEGER NOT NULL PRIMARY KEY, body VARCHAR(50) NULL);\nCREATE INDEX idx_notes_extra ON notes_extra (no_such_column);\n").unwrap();
        let h = w.run(&["--json", "custom", "request", &custom, "--type", "table", "--name", "notes_extra", "--sql", half.to_str().unwrap()]).ok().json();
        let hid = h["id"].to_string();
        w.run(&["custom", "approve", &hid]).ok();
        let failed = w.run(&["custom", "apply", &hid]).fails_with(2);
        assert!(failed.stderr.contains("notes_extra") && failed.stderr.contains("nothing was recorded"), "{server}: {}", failed.stderr);
        let schema = w.run(&["--json", "tenant", "schema", &custom]).ok().json();
        assert!(schema["tables"]["notes_extra"].is_null(), "{server}: the half-made table was removed");
        let still = w.run(&["--json", "custom", "list", "--tenant", &custom, "--status", "approved"]).ok().json();
        assert_eq!(still.as_array().unwrap().len(), 1, "{server}: it stays approved, to be fixed with a new request");
        assert_eq!(w.run(&["--json", "tenant", "show", &custom]).ok().json()["customization_count"], 1, "{server}");
        all.extend([fresh, migrated, custom]);
    }
    let listed = w.run(&["--json", "custom", "list", "--status", "applied"]).ok().json();
    assert_eq!(listed.as_array().unwrap().len(), 3);
    w.run(&["custom", "list", "--status", "bogus"]).fails_with(2);

    // Hostile SQL is refused with a reason and nothing is stored.
    let before = w.run(&["--json", "custom", "list"]).ok().json().as_array().unwrap().len();
    let victim = &all[2];
    let hostile: &[(&str, &str, &str, &str)] = &[
        ("view", "v", "CREATE VIEW v AS SELECT * FROM tenant_other.members", "outside the tenant"),
        ("table", "t", "DROP DATABASE tenant_other", "database-level"),
        ("table", "t", "GRANT ALL ON members TO PUBLIC", "privilege"),
        ("table", "t", "CREATE USER evil", "user management"),
        ("table", "t", "LOAD DATA INFILE '/etc/passwd' INTO TABLE members", "reading files"),
        ("view", "v", "SELECT * FROM members INTO OUTFILE '/tmp/x'", "writing files"),
        ("column", "members.x", "ALTER TABLE members ADD COLUMN x INT; -- harmless\nDROP TABLE members", "one statement"),
        ("column", "members.x", "ALTER TABLE members ADD COLUMN x INT /* ; */; DELETE FROM members", "one statement"),
    ];
    for (kind, name, text, why) in hostile {
        let f = w.file("hostile.sql");
        std::fs::write(&f, text).unwrap();
        let r = w.run(&["custom", "request", victim, "--type", kind, "--name", name, "--sql", f.to_str().unwrap()]).fails_with(2);
        assert!(r.stderr.contains(why), "`{text}`: {}", r.stderr);
    }
    assert_eq!(w.run(&["--json", "custom", "list"]).ok().json().as_array().unwrap().len(), before);
    let schema = w.run(&["--json", "tenant", "schema", victim]).ok().json();
    assert!(schema["tables"]["members"].is_object(), "members survived");

    // Fresh, migrated and customized tenants: no drift anywhere.
    let names: Vec<&str> = all.iter().map(String::as_str).collect();
    let report = scan(&w, &names);
    assert_eq!(report["scanned"], 9, "{report}");
    for s in &all {
        let t = tenant(&report, s);
        assert_eq!(t["drift_level"], "none", "{s}: {t}");
    }
    let list = w.run(&["--json", "tenant", "list", "--drift", "none"]).ok().json();
    assert_eq!(list.as_array().unwrap().len(), 9);
    cleanup(&w);
}

/// One kind of drift: SQL per server (None: not injectable there), the differences
/// it must produce, and the level.
struct Case {
    name: &'static str,
    sql: [Option<&'static str>; 3],
    diffs: &'static [&'static str],
    level: &'static str,
}

const ROLES_SQLITE: &str = "CREATE TABLE roles_x (id INTEGER PRIMARY KEY, name {name}, description {desc}, CONSTRAINT uq_roles_name UNIQUE (name));\n\
    INSERT INTO roles_x SELECT * FROM roles; DROP TABLE roles; ALTER TABLE roles_x RENAME TO roles;";

fn cases() -> Vec<Case> {
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let roles = |name: &str, desc: &str| Some(leak(ROLES_SQLITE.replace("{name}", name).replace("{desc}", desc)));
    vec![
        Case {
            name: "extra nullable column",
            sql: [Some("ALTER TABLE members ADD COLUMN nickname VARCHAR(50) NULL;"); 3],
            diffs: &["extra column members.nickname"],
            level: "low",
        },
        Case {
            name: "extra NOT NULL column without default",
            sql: [None, Some("ALTER TABLE members ADD COLUMN rank INTEGER NOT NULL;"), Some("ALTER TABLE members ADD COLUMN rank INTEGER NOT NULL;")],
            diffs: &["extra column members.rank"],
            level: "medium",
        },
        Case { name: "extra index", sql: [Some("CREATE INDEX idx_extra ON members (phone);"); 3], diffs: &["extra index members.idx_extra"], level: "low" },
        Case {
            name: "extra table",
            sql: [Some("CREATE TABLE scratchpad (id INTEGER NOT NULL PRIMARY KEY, note VARCHAR(20) NULL);"); 3],
            diffs: &["extra table scratchpad"],
            level: "low",
        },
        Case { name: "extra view", sql: [Some("CREATE VIEW v_extra AS SELECT id FROM members;"); 3], diffs: &["extra view v_extra"], level: "low" },
        Case {
            name: "changed default",
            sql: [roles("VARCHAR(60) NOT NULL", "VARCHAR(255) NULL DEFAULT 'none'"), Some("ALTER TABLE roles ALTER COLUMN description SET DEFAULT 'none';"), Some("ALTER TABLE roles ALTER COLUMN description SET DEFAULT 'none';")],
            diffs: &["changed column roles.description"],
            level: "medium",
        },
        Case {
            name: "changed nullability",
            sql: [roles("VARCHAR(60) NULL", "VARCHAR(255) NULL"), Some("ALTER TABLE roles MODIFY name VARCHAR(60) NULL;"), Some("ALTER TABLE roles ALTER COLUMN name DROP NOT NULL;")],
            diffs: &["changed column roles.name"],
            level: "medium",
        },
        Case {
            name: "retyped column",
            sql: [roles("VARCHAR(60) NOT NULL", "TEXT NULL"), Some("ALTER TABLE roles MODIFY description TEXT NULL;"), Some("ALTER TABLE roles ALTER COLUMN description TYPE text;")],
            diffs: &["changed column roles.description"],
            level: "high",
        },
        Case {
            name: "missing column",
            sql: [Some("ALTER TABLE members DROP COLUMN notes;"); 3],
            diffs: &["missing column members.notes"],
            level: "high",
        },
        Case {
            name: "missing index",
            sql: [Some("DROP INDEX idx_members_name;"), Some("DROP INDEX idx_members_name ON members;"), Some("DROP INDEX idx_members_name;")],
            diffs: &["missing index members.idx_members_name"],
            level: "high",
        },
        Case {
            name: "changed index",
            sql: [
                Some("DROP INDEX idx_members_name; CREATE INDEX idx_members_name ON members (last_name);"),
                Some("DROP INDEX idx_members_name ON members; CREATE INDEX idx_members_name ON members (last_name);"),
                Some("DROP INDEX idx_members_name; CREATE INDEX idx_members_name ON members (last_name);"),
            ],
            diffs: &["changed index members.idx_members_name"],
            level: "medium",
        },
        Case {
            name: "missing foreign key",
            sql: [
                Some("CREATE TABLE rp_x (role_id BIGINT NOT NULL, permission_id BIGINT NOT NULL, PRIMARY KEY (role_id, permission_id), \
                      CONSTRAINT fk_role_permissions_permission FOREIGN KEY (permission_id) REFERENCES permissions (id) ON DELETE CASCADE);\n\
                      INSERT INTO rp_x SELECT * FROM role_permissions; DROP TABLE role_permissions; ALTER TABLE rp_x RENAME TO role_permissions;\n\
                      CREATE INDEX idx_role_permissions_permission ON role_permissions (permission_id);"),
                Some("ALTER TABLE role_permissions DROP FOREIGN KEY fk_role_permissions_role;"),
                Some("ALTER TABLE role_permissions DROP CONSTRAINT fk_role_permissions_role;"),
            ],
            diffs: &["missing foreign_key role_permissions.fk_role_permissions_role"],
            level: "high",
        },
        Case {
            name: "missing table",
            sql: [Some("DROP TABLE role_permissions;"); 3],
            diffs: &["missing table role_permissions"],
            level: "high",
        },
        Case {
            name: "missing unique",
            sql: [
                roles("VARCHAR(60) NOT NULL", "VARCHAR(255) NULL").map(|s| leak(s.replace(", CONSTRAINT uq_roles_name UNIQUE (name)", ""))),
                Some("ALTER TABLE roles DROP INDEX uq_roles_name;"),
                Some("ALTER TABLE roles DROP CONSTRAINT uq_roles_name;"),
            ],
            diffs: &["missing index roles.uq_roles_name"],
            level: "high",
        },
        Case {
            name: "missing primary key",
            sql: [
                Some("CREATE TABLE rp_x (role_id BIGINT NOT NULL, permission_id BIGINT NOT NULL, \
                      CONSTRAINT fk_role_permissions_role FOREIGN KEY (role_id) REFERENCES roles (id) ON DELETE CASCADE, \
                      CONSTRAINT fk_role_permissions_permission FOREIGN KEY (permission_id) REFERENCES permissions (id) ON DELETE CASCADE);\n\
                      INSERT INTO rp_x SELECT * FROM role_permissions; DROP TABLE role_permissions; ALTER TABLE rp_x RENAME TO role_permissions;\n\
                      CREATE INDEX idx_role_permissions_permission ON role_permissions (permission_id);"),
                // MariaDB will not drop a key a foreign key uses.
                None,
                Some("ALTER TABLE role_permissions DROP CONSTRAINT role_permissions_pkey;"),
            ],
            diffs: &["missing primary_key role_permissions.primary key"],
            level: "high",
        },
        Case {
            name: "extra routine",
            sql: [
                None,
                Some("CREATE FUNCTION f_extra() RETURNS INT DETERMINISTIC RETURN 1;"),
                Some("CREATE FUNCTION f_extra() RETURNS integer LANGUAGE sql AS $$ SELECT 1 $$;"),
            ],
            diffs: &["extra routine {routine}"],
            level: "low",
        },
        Case {
            name: "changed view",
            sql: [
                Some("DROP VIEW active_members; CREATE VIEW active_members AS SELECT m.id FROM members m;"),
                Some("DROP VIEW active_members; CREATE VIEW active_members AS SELECT m.id FROM members m;"),
                Some("DROP VIEW active_members; CREATE VIEW active_members AS SELECT m.id FROM members m;"),
            ],
            diffs: &["changed view active_members"],
            level: "medium",
        },
        Case {
            name: "extra trigger",
            sql: [
                Some("CREATE TRIGGER trg_extra AFTER INSERT ON roles BEGIN SELECT 1; END;"),
                Some("CREATE TRIGGER trg_extra BEFORE INSERT ON roles FOR EACH ROW SET NEW.name = TRIM(NEW.name);"),
                Some("CREATE FUNCTION trg_extra_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n\
                      CREATE TRIGGER trg_extra BEFORE INSERT ON roles FOR EACH ROW EXECUTE FUNCTION trg_extra_fn();"),
            ],
            diffs: &["extra trigger trg_extra"],
            level: "medium",
        },
    ]
}

#[test]
fn every_drift_kind_is_found_on_its_tenant_and_repaired_on_every_engine() {
    let w = fleet();
    for (i, server) in SERVERS.iter().enumerate() {
        let victim = slug(&format!("v{server}"));
        let bystanders = [slug(&format!("a{server}")), slug(&format!("b{server}"))];
        for s in std::iter::once(&victim).chain(&bystanders) {
            w.run(&["tenant", "create", s, "--template", "political_party", "--server", server]).ok();
        }
        let names = [victim.as_str(), bystanders[0].as_str(), bystanders[1].as_str()];
        let all = cases();
        let expected_runs = all.iter().filter(|c| c.sql[i].is_some()).count();
        let mut ran = 0;
        for case in all {
            let Some(sql) = case.sql[i] else { continue };
            ran += 1;
            inject(&w, &victim, sql);
            let report = scan(&w, &names);
            let t = tenant(&report, &victim);
            let routine = if *server == "pg" { "f_extra()" } else { "f_extra" };
            let mut expected: BTreeSet<String> = case.diffs.iter().map(|s| s.replace("{routine}", routine)).collect();
            if *server == "pg" && case.name == "extra trigger" {
                expected.insert("extra routine trg_extra_fn()".into());
            }
            assert_eq!(diff_set(t), expected, "{server}: {}: {t}", case.name);
            assert_eq!(t["drift_level"], case.level, "{server}: {}: {t}", case.name);
            for b in &bystanders {
                assert_eq!(tenant(&report, b)["drift_level"], "none", "{server}: {}: a bystander drifts", case.name);
            }
            let listed = w.run(&["--json", "tenant", "list", "--drift", case.level]).ok().json();
            assert!(listed.as_array().unwrap().iter().any(|x| x["slug"] == victim.as_str()), "{server}: {}", case.name);

            let show = w.run(&["--json", "drift", "show", &victim]).ok().json();
            assert_eq!(show["drift_level"], case.level);
            assert!(!show["explanations"].as_array().unwrap().is_empty());

            let dry = w.run(&["--json", "drift", "repair", &victim, "--dry-run"]).ok().json();
            assert!(!dry["statements"].as_array().unwrap().is_empty(), "{server}: {}: {dry}", case.name);
            assert_eq!(tenant(&scan(&w, &[&victim]), &victim)["drift_level"], case.level, "dry run changes nothing");
            let fixed = w.run(&["--json", "drift", "repair", &victim]);
            assert_eq!(fixed.code, 0, "{server}: {}: repair failed\n{}\n{}", case.name, fixed.stdout, fixed.stderr);
            assert_eq!(fixed.json()["after"], "none", "{server}: {}", case.name);
            let again = scan(&w, &[&victim]);
            assert_eq!(tenant(&again, &victim)["drift_level"], "none", "{server}: {}: {again}", case.name);
        }
        assert!(ran == expected_runs && ran >= 15, "{server}: {ran} cases ran");
        let h = w.run(&["--json", "history", &victim]).ok().json();
        let repairs = h.as_array().unwrap().iter().filter(|x| x["migration_type"] == "repair" && x["status"] == "applied").count();
        assert_eq!(repairs, ran, "{server}: one repair in the history per case");
    }
    cleanup(&w);
}

#[test]
fn accept_turns_extra_objects_into_customizations_on_every_engine() {
    let w = fleet();
    for server in SERVERS {
        let s = slug(&format!("acc{server}"));
        w.run(&["tenant", "create", &s, "--template", "political_party", "--server", server]).ok();
        inject(
            &w,
            &s,
            "ALTER TABLE members ADD COLUMN nickname VARCHAR(50) NULL;\n\
             CREATE INDEX idx_members_phone ON members (phone);\n\
             CREATE TABLE scratchpad (id INTEGER NOT NULL PRIMARY KEY, member_id BIGINT NULL, note VARCHAR(20) NULL);\n\
             CREATE INDEX idx_scratchpad_member ON scratchpad (member_id);\n\
             CREATE VIEW v_nicknames AS SELECT id, nickname FROM members;",
        );
        assert_eq!(tenant(&scan(&w, &[&s]), &s)["drift_level"], "low");
        let r = w.run(&["--json", "drift", "accept", &s]).ok().json();
        let accepted: BTreeSet<String> =
            r["accepted"].as_array().unwrap().iter().map(|a| format!("{} {}", a["type"].as_str().unwrap(), a["object"].as_str().unwrap())).collect();
        let want: BTreeSet<String> =
            ["column members.nickname", "index idx_members_phone", "table scratchpad", "view v_nicknames"].iter().map(|x| x.to_string()).collect();
        assert_eq!(accepted, want, "{server}: {r}");
        assert_eq!(r["after"], "none", "{server}: {r}");
        assert_eq!(tenant(&scan(&w, &[&s]), &s)["drift_level"], "none", "{server}");
        let t = w.run(&["--json", "tenant", "show", &s]).ok().json();
        assert_eq!(t["customization_count"], 4, "{server}");
        let customs = w.run(&["--json", "custom", "list", "--tenant", &s, "--status", "applied"]).ok().json();
        assert_eq!(customs.as_array().unwrap().len(), 4);
        // A missing object is not accepted: it is for repair.
        inject(&w, &s, "DROP INDEX idx_members_phone;".replace(";", if server == "maria" { " ON members;" } else { ";" }).as_str());
        let r = w.run(&["--json", "drift", "accept", &s]).ok().json();
        assert_eq!(r["accepted"].as_array().unwrap().len(), 0);
        assert_eq!(r["not_accepted"].as_array().unwrap().len(), 1, "{r}");
        w.run(&["drift", "repair", &s]).ok();
        assert_eq!(tenant(&scan(&w, &[&s]), &s)["drift_level"], "none", "{server}");
    }
    cleanup(&w);
}

#[test]
fn a_repair_that_fails_halfway_says_what_it_left_on_every_engine() {
    let w = fleet();
    let sqlite_roles = ROLES_SQLITE.replace("{name}", "VARCHAR(60) NOT NULL").replace("{desc}", "VARCHAR(255) NULL").replace(", CONSTRAINT uq_roles_name UNIQUE (name)", "");
    for (i, server) in SERVERS.iter().enumerate() {
        let s = slug(&format!("half{server}"));
        w.run(&["tenant", "create", &s, "--template", "political_party", "--server", server]).ok();
        // The unique key goes, a duplicate arrives, and an extra index makes the
        // repair drop something before it fails to rebuild the key.
        let drop_unique = ["", "ALTER TABLE roles DROP INDEX uq_roles_name;", "ALTER TABLE roles DROP CONSTRAINT uq_roles_name;"][i];
        let prefix = if i == 0 { sqlite_roles.as_str() } else { drop_unique };
        inject(&w, &s, &format!("{prefix}\nINSERT INTO roles (name, description) SELECT name, 'dup' FROM roles WHERE name = 'chair';\nCREATE INDEX idx_extra ON members (phone);"));
        let before = diff_set(tenant(&scan(&w, &[&s]), &s));
        assert_eq!(before, ["extra index members.idx_extra", "missing index roles.uq_roles_name"].iter().map(|x| x.to_string()).collect(), "{server}");

        let failed = w.run(&["drift", "repair", &s]);
        assert_ne!(failed.code, 0, "{server}: the duplicate makes the unique key impossible");
        let after = diff_set(tenant(&scan(&w, &[&s]), &s));
        if *server == "maria" {
            assert!(failed.stderr.contains("statements before the failing one stay applied"), "{}", failed.stderr);
            assert_eq!(after, ["missing index roles.uq_roles_name".to_string()].into_iter().collect(), "MySQL committed the drop");
        } else {
            assert!(failed.stderr.contains("nothing was changed"), "{server}: {}", failed.stderr);
            assert_eq!(after, before, "{server}: one transaction, rolled back whole");
        }
        let h = w.run(&["--json", "history", &s]).ok().json();
        assert!(h.as_array().unwrap().iter().any(|x| x["migration_type"] == "repair" && x["status"] == "failed"), "{server}: the failure is in the history");

        // With the duplicate gone, the same command converges.
        inject(&w, &s, "DELETE FROM roles WHERE description = 'dup';");
        w.run(&["drift", "repair", &s]).ok();
        assert_eq!(tenant(&scan(&w, &[&s]), &s)["drift_level"], "none", "{server}");
    }
    cleanup(&w);
}
