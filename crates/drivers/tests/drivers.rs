//! Drivers against the real servers: every test runs on SQLite, MariaDB and PostgreSQL.

use std::collections::BTreeMap;
use tenantry_domain::{DatabaseName, Dialect};
use tenantry_drivers::DriverError;
use tenantry_schema::Schema;
use tenantry_testkit::{unique_db, ScratchDb, Target};

fn fixture(dialect: Dialect) -> String {
    let path = format!("{}/tests/fixtures/membership.{}.sql", env!("CARGO_MANIFEST_DIR"), dialect);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// What must be equal on every engine, per ARCHITECTURE.md "Dialect differences":
/// view bodies and CHECK expressions are each engine's own text (names compared
/// only), and RESTRICT equals NO ACTION (InnoDB does not tell them apart).
fn portable(schema: &Schema) -> serde_json::Value {
    let action = |a: &str| if a == "RESTRICT" { "NO ACTION".to_string() } else { a.to_string() };
    let tables: BTreeMap<_, _> = schema
        .tables
        .values()
        .map(|t| {
            let fks: Vec<_> = t
                .foreign_keys
                .values()
                .map(|f| {
                    serde_json::json!([f.name, f.columns, f.referenced_table, f.referenced_columns,
                        action(&f.on_update), action(&f.on_delete)])
                })
                .collect();
            let value = serde_json::json!({
                "columns": t.columns,
                "primary_key": t.primary_key,
                "indexes": t.indexes,
                "foreign_keys": fks,
                "checks": t.checks.keys().collect::<Vec<_>>(),
            });
            (t.name.clone(), value)
        })
        .collect();
    serde_json::json!({ "tables": tables, "views": schema.views.keys().collect::<Vec<_>>() })
}

#[tokio::test]
async fn introspection_is_deterministic_and_alike_on_all_engines() {
    let mut portables = Vec::new();
    for target in Target::all().await {
        let db = ScratchDb::create(&target, "intro").await;
        let run = target.driver.execute_script(&db.name, &fixture(target.dialect)).await.expect("fixture applies");
        assert_eq!(run.statements, 13 + 12 + 1, "{}: statements run", target.dialect);

        let first = target.driver.introspect(&db.name).await.expect("introspect");
        let second = target.driver.introspect(&db.name).await.expect("introspect again");
        assert_eq!(first.to_json(), second.to_json(), "{}: byte-identical JSON", target.dialect);
        assert_eq!(first.tables.len(), 13);
        let members = &first.tables["members"];
        assert_eq!(members.primary_key.as_ref().unwrap().columns, ["id"]);
        assert!(members.column("id").unwrap().auto_increment, "{}", target.dialect);
        assert_eq!(members.column("is_active").unwrap().default.as_deref(), Some("true"));
        assert_eq!(members.column("joined_at").unwrap().default.as_deref(), Some("CURRENT_TIMESTAMP"));
        assert_eq!(members.indexes["uq_members_email"].unique, true);
        assert_eq!(members.foreign_keys["fk_members_branch"].on_delete, "CASCADE");
        assert!(members.checks.contains_key("ck_members_dues"), "{}: {:?}", target.dialect, members.checks);
        let elections = &first.tables["elections"];
        assert!(elections.indexes["idx_elections_branch_opens"].parts[1].descending, "{}", target.dialect);
        assert!(first.views.contains_key("active_members"));
        // Round trip through the stored form.
        let back: Schema = serde_json::from_str(&first.to_json()).unwrap();
        assert_eq!(back, first);
        portables.push((target.dialect, portable(&first)));
    }
    let (base_dialect, base) = &portables[0];
    for (dialect, other) in &portables[1..] {
        if other != base {
            let a = serde_json::to_string_pretty(base).unwrap();
            let b = serde_json::to_string_pretty(other).unwrap();
            let diff: Vec<String> = a
                .lines()
                .zip(b.lines())
                .enumerate()
                .filter(|(_, (x, y))| x != y)
                .take(20)
                .map(|(i, (x, y))| format!("line {i}: {base_dialect}: {x}\n         {dialect}: {y}"))
                .collect();
            panic!("{dialect} differs from {base_dialect}:\n{}", diff.join("\n"));
        }
    }
}

#[tokio::test]
async fn failing_statement_is_named_with_number_and_line() {
    for target in Target::all().await {
        let db = ScratchDb::create(&target, "stmterr").await;
        let script = "CREATE TABLE a (id INTEGER PRIMARY KEY);\n\n-- a comment; with a semicolon\nCREATE TABLE b (id INTEGER PRIMARY KEY);\nINSERT INTO nowhere VALUES (1);\n";
        let err = target.driver.execute_script(&db.name, script).await.expect_err("must fail");
        match &err {
            DriverError::Statement { number, line, database, server, .. } => {
                assert_eq!((*number, *line), (3, 5), "{}: {err}", target.dialect);
                assert_eq!(database, db.name.as_str());
                assert!(server.starts_with("test-"));
            }
            other => panic!("{}: wrong error {other:?}", target.dialect),
        }
        let msg = err.to_string();
        assert!(msg.contains("statement 3 (line 5)") && msg.contains("nowhere"), "{msg}");
        let tables: Vec<String> = target.driver.introspect(&db.name).await.unwrap().tables.into_keys().collect();
        match target.dialect {
            // Transactional DDL: nothing of the failed script remains.
            Dialect::Postgres | Dialect::Sqlite => assert!(tables.is_empty(), "{}: {tables:?}", target.dialect),
            // MySQL commits each DDL statement.
            Dialect::Mysql => assert_eq!(tables, ["a", "b"]),
        }
    }
}

#[tokio::test]
async fn create_exists_drop_and_conflicts() {
    for target in Target::all().await {
        let name = unique_db("life");
        let d = &target.driver;
        assert!(!d.database_exists(&name).await.unwrap());
        d.create_database(&name).await.unwrap();
        assert!(d.database_exists(&name).await.unwrap());
        assert!(d.list_databases(name.as_str()).await.unwrap().contains(&name.to_string()));
        let again = d.create_database(&name).await.expect_err("second create must fail");
        assert!(matches!(again, DriverError::AlreadyExists { .. }), "{}: {again:?}", target.dialect);
        d.drop_database(&name).await.unwrap();
        assert!(!d.database_exists(&name).await.unwrap());
        d.drop_database(&name).await.expect("dropping a missing database is fine");
        let missing = d.introspect(&name).await.expect_err("introspecting a missing database fails");
        assert!(matches!(missing, DriverError::NotFound { .. }), "{}: {missing:?}", target.dialect);
        d.check_can_create().await.expect("credentials can create databases");
    }
}

#[tokio::test]
async fn concurrent_creates_of_one_name_have_one_winner() {
    for target in Target::all().await {
        let name = unique_db("race");
        let attempts = (0..6).map(|_| {
            let (d, n) = (target.driver.clone(), name.clone());
            tokio::spawn(async move { d.create_database(&n).await })
        });
        let results = futures::future::join_all(attempts).await;
        let wins = results.iter().filter(|r| matches!(r, Ok(Ok(())))).count();
        let conflicts = results.iter().filter(|r| matches!(r, Ok(Err(DriverError::AlreadyExists { .. })))).count();
        target.driver.drop_database(&name).await.unwrap();
        assert_eq!((wins, conflicts), (1, 5), "{}: {results:?}", target.dialect);
    }
}

#[tokio::test]
async fn hostile_names_never_reach_a_server() {
    let hostile = [
        "x'; DROP DATABASE mysql; --", "a`b", "a\"b", "a;b", "..", "../../etc/passwd", "tenant_é",
        "テナント", "UPPER", &"a".repeat(200), "a b", "a\nb", "mysql", "postgres",
    ];
    for target in Target::all().await {
        let before = target.driver.list_databases("").await.unwrap();
        for name in hostile {
            let err = DatabaseName::new(name).expect_err(name);
            assert!(err.to_string().starts_with("database name"), "{err}");
        }
        let after = target.driver.list_databases("").await.unwrap();
        // Other test threads may create tt_ databases meanwhile; nothing else may appear.
        let new: Vec<_> = after.iter().filter(|n| !before.contains(n) && !n.starts_with("tt_")).collect();
        assert!(new.is_empty(), "{}: {new:?}", target.dialect);
    }
}

#[tokio::test]
async fn scripts_with_bodies_run_on_each_engine() {
    let scripts = [
        (Dialect::Mysql, "CREATE TABLE a (n INT NOT NULL, m INT NULL);\nDELIMITER $$\nCREATE TRIGGER a_clamp BEFORE INSERT ON a FOR EACH ROW\nBEGIN\n  IF NEW.n < 0 THEN SET NEW.n = 0; END IF;\nEND$$\nCREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC\nBEGIN\n  RETURN x * 2;\nEND$$\nDELIMITER ;\nINSERT INTO a (n) VALUES (-5);\n"),
        (Dialect::Postgres, "CREATE TABLE a (n INT NOT NULL, m INT NULL);\nCREATE FUNCTION a_clamp() RETURNS trigger AS $$\nBEGIN\n  IF NEW.n < 0 THEN NEW.n := 0; END IF;\n  RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;\nCREATE TRIGGER a_clamp BEFORE INSERT ON a FOR EACH ROW EXECUTE FUNCTION a_clamp();\nINSERT INTO a (n) VALUES (-5);\n"),
        (Dialect::Sqlite, "CREATE TABLE a (n INT NOT NULL, m INT NULL);\nCREATE TRIGGER a_clamp AFTER INSERT ON a WHEN NEW.n < 0\nBEGIN\n  UPDATE a SET n = 0 WHERE rowid = NEW.rowid;\nEND;\nINSERT INTO a (n) VALUES (-5);\n"),
    ];
    for target in Target::all().await {
        let script = scripts.iter().find(|s| s.0 == target.dialect).unwrap().1;
        let db = ScratchDb::create(&target, "bodies").await;
        target.driver.execute_script(&db.name, script).await.unwrap_or_else(|e| panic!("{}: {e}", target.dialect));
        let schema = target.driver.introspect(&db.name).await.unwrap();
        let trigger = &schema.triggers["a_clamp"];
        assert_eq!((trigger.table.as_str(), trigger.event.as_str()), ("a", "INSERT"), "{}", target.dialect);
        if target.dialect != Dialect::Sqlite {
            assert!(!schema.routines.is_empty(), "{}: routines are read", target.dialect);
        }
    }
}

#[tokio::test]
async fn introspecting_some_tables_equals_the_full_read_of_them() {
    for target in Target::all().await {
        let db = ScratchDb::create(&target, "some").await;
        target.driver.execute_script(&db.name, &fixture(target.dialect)).await.unwrap();
        let full = target.driver.introspect(&db.name).await.unwrap();
        let wanted = vec!["members".to_string(), "ballots".to_string(), "no_such_table".to_string()];
        let mut session = target.driver.session(&db.name).await.unwrap();
        let some = session.introspect_tables(&wanted).await.unwrap();
        session.close().await;
        assert_eq!(some.tables.keys().collect::<Vec<_>>(), ["ballots", "members"], "{}", target.dialect);
        for name in ["ballots", "members"] {
            assert_eq!(some.tables[name], full.tables[name], "{}: {name}", target.dialect);
        }
        assert!(some.views.is_empty() && some.triggers.is_empty());
    }
}

/// tenantry sends PostgreSQL a SCRAM verifier instead of a password: it must be the
/// very verifier the server derives itself from the same password and salt.
#[tokio::test]
async fn scram_verifier_matches_the_servers_own() {
    use sqlx::{Connection, Executor};
    let target = Target::new(Dialect::Postgres).await;
    let mut admin = sqlx::PgConnection::connect(&format!("{}/postgres", target.url)).await.expect("connect");
    let role = unique_db("scram").to_string();
    let password = "Xk3vQ9pLm2Wr7tYz5NcB8dFh";
    admin.execute(format!("SET password_encryption = 'scram-sha-256'; CREATE ROLE {role} LOGIN PASSWORD '{password}'").as_str()).await.expect("create role");
    let (stored,): (String,) = sqlx::query_as("SELECT rolpassword FROM pg_authid WHERE rolname = $1").bind(&role).fetch_one(&mut admin).await.expect("read verifier");
    admin.execute(format!("DROP ROLE {role}").as_str()).await.expect("drop role");
    // SCRAM-SHA-256$4096:<salt>$<stored key>:<server key>
    let salt_b64 = stored.split('$').nth(1).and_then(|s| s.split(':').nth(1)).expect("a salt in the verifier");
    use base64::Engine as _;
    let salt: [u8; 16] = base64::engine::general_purpose::STANDARD.decode(salt_b64).expect("base64").try_into().expect("16 bytes");
    assert_eq!(tenantry_drivers::scram_verifier(password, &salt).as_deref(), Some(stored.as_str()));
}

/// A clone whose fill fails leaves no database behind, on both engines that clone.
#[tokio::test]
async fn a_clone_whose_fill_fails_is_dropped() {
    for target in Target::all().await {
        if !target.driver.can_clone() {
            let db = unique_db("noclone");
            assert!(!target.driver.clone_database(&db, &unique_db("noclone"), &[]).await.expect("no clone"), "{}", target.dialect);
            continue;
        }
        let source = ScratchDb::create(&target, "clsrc").await;
        target.driver.execute_script(&source.name, "CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR(20));").await.expect("source");
        let good = unique_db("clok");
        assert!(target.driver.clone_database(&source.name, &good, &["INSERT INTO t (id, v) VALUES (1, 'a');"]).await.expect("clone"));
        let rows = target.driver.read_pairs(&good, "SELECT CAST(id AS TEXT), v FROM t").await.expect("read the copy");
        assert_eq!(rows, vec![("1".to_string(), Some("a".to_string()))], "{}: the fill ran in the copy", target.dialect);
        target.driver.drop_database(&good).await.expect("drop");

        let bad = unique_db("clbad");
        let err = target.driver.clone_database(&source.name, &bad, &["INSERT INTO t (id, v) VALUES (1, 'a');", "INSERT INTO nowhere VALUES (1);"]).await;
        assert!(err.is_err(), "{}: a failing fill is an error", target.dialect);
        assert!(!target.driver.database_exists(&bad).await.expect("exists"), "{}: the copy was dropped", target.dialect);
    }
}

/// Renames racing to one name: exactly one wins, the others get `AlreadyExists`
/// (PostgreSQL reports the race as a unique violation in its catalog, not 42P04).
#[tokio::test]
async fn racing_renames_to_one_name_have_one_winner() {
    for target in Target::all().await {
        if !target.driver.can_clone() {
            continue;
        }
        let to = unique_db("rnto");
        let mut froms = Vec::new();
        for i in 0..6 {
            let db = unique_db(&format!("rn{i}"));
            target.driver.create_database(&db).await.expect("create");
            froms.push(db);
        }
        // One driver per rename on PostgreSQL: a driver's admin connection would
        // serialise them (two tenantry processes are what race there).
        let mut drivers = Vec::new();
        for _ in &froms {
            drivers.push(if target.dialect == Dialect::Postgres { Target::new(Dialect::Postgres).await.driver } else { target.driver.clone() });
        }
        let results = futures::future::join_all(froms.iter().zip(&drivers).map(|(f, d)| d.rename_database(f, &to))).await;
        let won = results.iter().filter(|r| matches!(r, Ok(true))).count();
        let lost = results.iter().filter(|r| matches!(r, Err(DriverError::AlreadyExists { .. }))).count();
        assert_eq!((won, lost), (1, 5), "{}: {results:?}", target.dialect);
        for db in froms.iter().chain([&to]) {
            target.driver.drop_database(db).await.expect("drop");
        }
    }
}

/// MySQL binds a prepared statement's tables to the database current when it was
/// prepared, and a pooled connection moves between tenant databases with `USE`: a
/// cached statement would read the first tenant's rows in every later one. Each
/// tenant's own rows, however the connection was used before.
#[tokio::test]
async fn reads_follow_the_database_on_a_reused_connection() {
    let url = tenantry_drivers::ServerUrl::parse(&tenantry_testkit::mysql_url()).expect("url");
    let driver = tenantry_drivers::connect("one-connection", &url, tenantry_drivers::DriverLimits { max_connections: 1 }).await.expect("connect");
    let dbs = [unique_db("reuse_a"), unique_db("reuse_b"), unique_db("reuse_c")];
    for (i, db) in dbs.iter().enumerate() {
        driver.create_database(db).await.expect("create");
        let sql = format!("CREATE TABLE tenantry_meta (meta_key VARCHAR(64) NOT NULL PRIMARY KEY, meta_value VARCHAR(500) NULL);\nINSERT INTO tenantry_meta VALUES ('slug', 'tenant-{i}');");
        driver.execute_script(db, &sql).await.expect("fill");
    }
    for round in 0..2 {
        for (i, db) in dbs.iter().enumerate() {
            let rows = driver.read_pairs(db, "SELECT meta_key, meta_value FROM tenantry_meta").await.expect("read");
            assert_eq!(rows, vec![("slug".to_string(), Some(format!("tenant-{i}")))], "round {round}: {db} read another database's rows");
        }
    }
    for db in &dbs {
        driver.drop_database(db).await.expect("drop");
    }
}

/// Right after tenantry closes a session on a database, renaming or copying it must
/// work, though the server may still be ending that session (PostgreSQL: 55006).
#[tokio::test]
async fn rename_and_copy_right_after_a_session_closes() {
    for target in Target::all().await {
        if !target.driver.can_clone() {
            continue;
        }
        let mut name = unique_db("busy0");
        target.driver.create_database(&name).await.expect("create");
        target.driver.execute_script(&name, "CREATE TABLE t (id INTEGER PRIMARY KEY);").await.expect("table");
        for i in 1..=30 {
            target.driver.execute_script(&name, &format!("INSERT INTO t (id) VALUES ({i});")).await.expect("a session");
            let next = unique_db(&format!("busy{i}"));
            assert!(target.driver.rename_database(&name, &next).await.expect("rename after a session"), "{}", target.dialect);
            name = next;
            target.driver.introspect(&name).await.expect("a session");
            let copy = unique_db(&format!("copy{i}"));
            assert!(target.driver.clone_database(&name, &copy, &[]).await.expect("copy after a session"), "{}", target.dialect);
            target.driver.drop_database(&copy).await.expect("drop");
        }
        target.driver.drop_database(&name).await.expect("drop");
    }
}

/// Session settings do not follow a pooled MySQL connection to the next tenant: a
/// session that turned foreign key checks off (a schema change, or one cut short)
/// leaves them on for whoever gets the connection next.
#[tokio::test]
async fn foreign_key_checks_are_on_in_every_new_session() {
    let url = tenantry_drivers::ServerUrl::parse(&tenantry_testkit::mysql_url()).expect("url");
    let driver = tenantry_drivers::connect("one-connection", &url, tenantry_drivers::DriverLimits { max_connections: 1 }).await.expect("connect");
    let (a, b) = (unique_db("fk_a"), unique_db("fk_b"));
    for db in [&a, &b] {
        driver.create_database(db).await.expect("create");
    }
    driver
        .execute_script(&b, "CREATE TABLE p (id INT PRIMARY KEY);\nCREATE TABLE c (id INT PRIMARY KEY, p_id INT NOT NULL, CONSTRAINT fk_c_p FOREIGN KEY (p_id) REFERENCES p (id));")
        .await
        .expect("tables");
    driver.execute_script(&a, "SET FOREIGN_KEY_CHECKS = 0;").await.expect("a session turns checks off");
    let orphan = driver.execute_script(&b, "INSERT INTO c (id, p_id) VALUES (1, 42);").await;
    assert!(orphan.is_err(), "a row without its parent was accepted: the next session inherited FOREIGN_KEY_CHECKS = 0");
    for db in [&a, &b] {
        driver.drop_database(db).await.expect("drop");
    }
}
