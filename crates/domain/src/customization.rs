//! Tenant customizations: what kinds exist, and the check every customization's SQL
//! passes before it is stored, approved or run.
//!
//! The check is deliberately narrow: a customization may create (or, for a column,
//! add) exactly the object it declares, inside the tenant's own database, and nothing
//! else. It works on the `sqlparser` AST where the statement parses and on the token
//! stream always, so a statement sqlparser cannot read (a MySQL routine body, say) is
//! still scanned for forbidden words, and a second statement hidden behind a comment is
//! seen by the tokenizer-based splitter.

use crate::sql::{parser_dialect, split_script, ScriptStatement};
use crate::Dialect;
use serde::{Deserialize, Serialize};
use sqlparser::ast::{
    AlterTableOperation, ColumnOption, CreateTable, ObjectName, Statement, TableConstraint,
};
use sqlparser::tokenizer::{Token, Tokenizer};
use std::fmt;
use std::ops::ControlFlow;

/// The kinds of object a tenant may add.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CustomizationKind {
    Table,
    Column,
    Index,
    View,
    Function,
    Trigger,
}

impl CustomizationKind {
    pub const ALL: [CustomizationKind; 6] = [
        CustomizationKind::Table,
        CustomizationKind::Column,
        CustomizationKind::Index,
        CustomizationKind::View,
        CustomizationKind::Function,
        CustomizationKind::Trigger,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CustomizationKind::Table => "table",
            CustomizationKind::Column => "column",
            CustomizationKind::Index => "index",
            CustomizationKind::View => "view",
            CustomizationKind::Function => "function",
            CustomizationKind::Trigger => "trigger",
        }
    }

    pub fn parse(s: &str) -> Result<CustomizationKind, CustomizationError> {
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| CustomizationError {
            line: None,
            reason: format!("unknown customization type `{s}`; use one of table, column, index, view, function, trigger"),
        })
    }
}

impl fmt::Display for CustomizationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why customization SQL was refused, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CustomizationError {
    /// 1-based line of the script, when one statement is at fault.
    pub line: Option<usize>,
    pub reason: String,
}

impl fmt::Display for CustomizationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {l}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

fn refuse<T>(line: Option<usize>, reason: impl Into<String>) -> Result<T, CustomizationError> {
    Err(CustomizationError { line, reason: reason.into() })
}

/// Words that never appear outside strings in customization SQL, with why. Checked on
/// unquoted word tokens only, so a column may still be called `"grant"`.
const FORBIDDEN_WORDS: &[(&str, &str)] = &[
    ("GRANT", "privilege statements are not allowed"),
    ("REVOKE", "privilege statements are not allowed"),
    ("USER", "user management is not allowed"),
    ("ROLE", "role management is not allowed"),
    ("DATABASE", "database-level statements are not allowed"),
    ("SCHEMA", "schema-level statements are not allowed"),
    ("OUTFILE", "writing files is not allowed"),
    ("DUMPFILE", "writing files is not allowed"),
    ("LOAD_FILE", "reading files is not allowed"),
    ("INFILE", "reading files is not allowed"),
    ("DIRECTORY", "placing data in another directory is not allowed"),
    ("TABLESPACE", "tablespaces are not allowed"),
    ("ATTACH", "attaching databases is not allowed"),
    ("DETACH", "detaching databases is not allowed"),
    ("PRAGMA", "PRAGMA statements are not allowed"),
    ("COPY", "COPY reads and writes files on the server"),
    ("DEFINER", "routines run with the caller's privileges; DEFINER is not allowed"),
    ("CONNECTION", "tables backed by another server are not allowed"),
    ("FEDERATED", "tables backed by another server are not allowed"),
    ("DBLINK", "links to other databases are not allowed"),
    ("PG_READ_FILE", "reading files is not allowed"),
    ("PG_READ_BINARY_FILE", "reading files is not allowed"),
    ("PG_LS_DIR", "reading directories is not allowed"),
    ("LO_IMPORT", "reading files is not allowed"),
    ("LO_EXPORT", "writing files is not allowed"),
    ("PREPARE", "dynamic SQL is not allowed"),
    ("SYSTEM", "running commands is not allowed"),
    ("SHUTDOWN", "server administration is not allowed"),
    ("KILL", "server administration is not allowed"),
];

/// Routine languages a PostgreSQL function may use (no untrusted languages).
const PG_LANGUAGES: &[&str] = &["sql", "plpgsql"];

/// A customization's SQL, split and checked.
#[derive(Debug, Clone)]
pub struct CheckedCustomization {
    pub kind: CustomizationKind,
    /// `table`, `table.column`, `index`, `view`, `function` or `trigger` name.
    pub object: String,
    pub statements: Vec<ScriptStatement>,
    /// The table the object belongs to (the column's or index's table, the table
    /// itself), for collision checks and history.
    pub table: Option<String>,
}

/// Checks `sql` as a customization of `kind` named `object` for `dialect`. Refuses
/// anything but the statements that create that one object in the tenant's own
/// database; each refusal says why and on which line.
pub fn check_customization(
    dialect: Dialect,
    kind: CustomizationKind,
    object: &str,
    sql: &str,
) -> Result<CheckedCustomization, CustomizationError> {
    check_object_name(kind, object)?;
    let statements = split_script(dialect, sql).map_err(|e| CustomizationError { line: None, reason: e.to_string() })?;
    if statements.is_empty() {
        return refuse(None, "the SQL holds no statement");
    }
    for st in &statements {
        scan_tokens(dialect, st.line, &st.sql)?;
    }
    let max = if kind == CustomizationKind::Table { usize::MAX } else { 1 };
    if statements.len() > max {
        let second = &statements[1];
        return refuse(
            Some(second.line),
            format!("a {kind} customization is one statement; found another: {}", first_line(&second.sql)),
        );
    }
    let parser = parser_dialect(dialect);
    let mut table = None;
    for (i, st) in statements.iter().enumerate() {
        if dialect == Dialect::Mysql {
            check_mysql_security(kind, st)?;
        }
        let parsed = sqlparser::parser::Parser::parse_sql(parser.as_ref(), &st.sql);
        let stmt = match parsed {
            Ok(mut v) if v.len() == 1 => v.remove(0),
            Ok(v) if v.is_empty() => return refuse(Some(st.line), "empty statement"),
            Ok(_) => return refuse(Some(st.line), "more than one statement"),
            // Routine and trigger bodies are beyond sqlparser on some dialects; their
            // tokens were scanned above, and the header is checked here.
            Err(e) if matches!(kind, CustomizationKind::Function | CustomizationKind::Trigger) => {
                check_header_tokens(dialect, kind, object, st)?;
                let _ = e;
                continue;
            }
            Err(e) => return refuse(Some(st.line), format!("cannot parse: {e}")),
        };
        check_relations(dialect, st.line, &stmt)?;
        let t = check_statement(dialect, kind, object, i, st.line, &stmt)?;
        if table.is_none() {
            table = t;
        }
    }
    Ok(CheckedCustomization { kind, object: object.to_string(), statements, table })
}

fn first_line(sql: &str) -> String {
    sql.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim().chars().take(80).collect()
}

/// Object names are plain identifiers (a column is `table.column`).
fn check_object_name(kind: CustomizationKind, object: &str) -> Result<(), CustomizationError> {
    let plain = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let ok = match kind {
        CustomizationKind::Column => object.split_once('.').is_some_and(|(t, c)| plain(t) && plain(c)),
        _ => plain(object),
    };
    if ok {
        Ok(())
    } else if kind == CustomizationKind::Column {
        refuse(None, format!("a column customization is named `table.column` (letters, digits, `_`); got `{object}`"))
    } else {
        refuse(None, format!("`{object}` is not a plain name (letters, digits, `_`, at most 64)"))
    }
}

/// Scans the unquoted words of a statement (and of PostgreSQL dollar-quoted bodies).
fn scan_tokens(dialect: Dialect, line: usize, sql: &str) -> Result<(), CustomizationError> {
    let parser = parser_dialect(dialect);
    let tokens = Tokenizer::new(parser.as_ref(), sql)
        .tokenize_with_location()
        .map_err(|e| CustomizationError { line: Some(line), reason: format!("cannot read: {e}") })?;
    let mut previous: Option<String> = None;
    for t in tokens {
        let at = Some(line + t.span.start.line.saturating_sub(1) as usize);
        match &t.token {
            Token::Word(w) if w.quote_style.is_none() => {
                let upper = w.value.to_ascii_uppercase();
                if let Some((_, why)) = FORBIDDEN_WORDS.iter().find(|(word, _)| *word == upper) {
                    return refuse(at, format!("`{}`: {why}", w.value));
                }
                if previous.as_deref() == Some("LANGUAGE") && !PG_LANGUAGES.contains(&w.value.to_ascii_lowercase().as_str()) {
                    return refuse(at, format!("language `{}` is not allowed (use sql or plpgsql)", w.value));
                }
                previous = Some(upper);
            }
            Token::DollarQuotedString(s) => {
                scan_tokens(dialect, at.unwrap_or(line), &s.value)?;
                previous = None;
            }
            Token::Whitespace(_) => {}
            _ => previous = None,
        }
    }
    Ok(())
}

fn unquote(ident: &str) -> String {
    ident.trim_matches(|c| c == '"' || c == '`' || c == '[' || c == ']').to_string()
}

/// The object's own name; a qualified name must be qualified by the tenant's own
/// schema (`public` on PostgreSQL, `main` on SQLite) — MySQL has no such schema.
fn local_name(dialect: Dialect, line: usize, name: &ObjectName) -> Result<String, CustomizationError> {
    let parts: Vec<String> = name.0.iter().map(|p| unquote(&p.to_string())).collect();
    match parts.as_slice() {
        [one] => Ok(one.clone()),
        [schema, one] if own_schema(dialect, schema) => Ok(one.clone()),
        _ => refuse(Some(line), format!("`{name}` is outside the tenant's database; name objects without a database or schema")),
    }
}

fn own_schema(dialect: Dialect, schema: &str) -> bool {
    match dialect {
        Dialect::Postgres => schema.eq_ignore_ascii_case("public"),
        Dialect::Sqlite => schema.eq_ignore_ascii_case("main"),
        Dialect::Mysql => false,
    }
}

/// Every table the statement reads or writes is the tenant's own.
fn check_relations(dialect: Dialect, line: usize, stmt: &Statement) -> Result<(), CustomizationError> {
    let mut bad = None;
    let _ = sqlparser::ast::visit_relations(stmt, |rel| {
        if local_name(dialect, line, rel).is_err() {
            bad = Some(rel.to_string());
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    if let Some(name) = bad {
        return refuse(Some(line), format!("`{name}` is outside the tenant's database"));
    }
    Ok(())
}

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn wrong_object(line: usize, kind: CustomizationKind, object: &str, found: &str) -> CustomizationError {
    CustomizationError { line: Some(line), reason: format!("the {kind} customization `{object}` may only create `{object}`, but this creates `{found}`") }
}

fn wrong_kind(line: usize, kind: CustomizationKind, expected: &str, sql: &str) -> CustomizationError {
    CustomizationError {
        line: Some(line),
        reason: format!("a {kind} customization is {expected}; this is not allowed here: {}", first_line(sql)),
    }
}

/// Checks one statement against the declared kind and object; returns its table.
fn check_statement(
    dialect: Dialect,
    kind: CustomizationKind,
    object: &str,
    index: usize,
    line: usize,
    stmt: &Statement,
) -> Result<Option<String>, CustomizationError> {
    let sql = stmt.to_string();
    match (kind, stmt) {
        (CustomizationKind::Table, Statement::CreateTable(ct)) if index == 0 => {
            let name = local_name(dialect, line, &ct.name)?;
            if !same(&name, object) {
                return Err(wrong_object(line, kind, object, &name));
            }
            check_create_table(dialect, line, ct)?;
            Ok(Some(name))
        }
        (CustomizationKind::Table, Statement::CreateIndex(ci)) if index > 0 => {
            let table = local_name(dialect, line, &ci.table_name)?;
            if !same(&table, object) {
                return refuse(Some(line), format!("indexes in a table customization must be on `{object}`, not `{table}`"));
            }
            Ok(Some(table))
        }
        (CustomizationKind::Table, _) => Err(wrong_kind(line, kind, "one CREATE TABLE, then CREATE INDEX statements on it", &sql)),
        (CustomizationKind::Column, Statement::AlterTable(at)) => {
            let table = local_name(dialect, line, &at.name)?;
            let (t, c) = object.split_once('.').unwrap_or((object, ""));
            if !same(&table, t) {
                return Err(wrong_object(line, kind, object, &table));
            }
            let [AlterTableOperation::AddColumn { column_def, .. }] = at.operations.as_slice() else {
                return Err(wrong_kind(line, kind, "one ALTER TABLE … ADD COLUMN", &sql));
            };
            let col = unquote(&column_def.name.to_string());
            if !same(&col, c) {
                return Err(wrong_object(line, kind, object, &format!("{table}.{col}")));
            }
            for opt in &column_def.options {
                if let ColumnOption::ForeignKey(fk) = &opt.option {
                    local_name(dialect, line, &fk.foreign_table)?;
                }
            }
            Ok(Some(table))
        }
        (CustomizationKind::Column, _) => Err(wrong_kind(line, kind, "one ALTER TABLE … ADD COLUMN", &sql)),
        (CustomizationKind::Index, Statement::CreateIndex(ci)) => {
            let table = local_name(dialect, line, &ci.table_name)?;
            let Some(name) = &ci.name else {
                return refuse(Some(line), format!("name the index: CREATE INDEX {object} ON …"));
            };
            let name = local_name(dialect, line, name)?;
            if !same(&name, object) {
                return Err(wrong_object(line, kind, object, &name));
            }
            Ok(Some(table))
        }
        (CustomizationKind::Index, _) => Err(wrong_kind(line, kind, "one CREATE INDEX", &sql)),
        (CustomizationKind::View, Statement::CreateView(cv)) => {
            let name = local_name(dialect, line, &cv.name)?;
            if !same(&name, object) {
                return Err(wrong_object(line, kind, object, &name));
            }
            Ok(None)
        }
        (CustomizationKind::View, _) => Err(wrong_kind(line, kind, "one CREATE VIEW", &sql)),
        (CustomizationKind::Function, Statement::CreateFunction(cf)) => {
            let name = local_name(dialect, line, &cf.name)?;
            if !same(&name, object) {
                return Err(wrong_object(line, kind, object, &name));
            }
            Ok(None)
        }
        (CustomizationKind::Function, Statement::CreateProcedure { name, .. }) => {
            let name = local_name(dialect, line, name)?;
            if !same(&name, object) {
                return Err(wrong_object(line, kind, object, &name));
            }
            Ok(None)
        }
        (CustomizationKind::Function, _) => Err(wrong_kind(line, kind, "one CREATE FUNCTION or CREATE PROCEDURE", &sql)),
        (CustomizationKind::Trigger, Statement::CreateTrigger(ct)) => {
            let name = local_name(dialect, line, &ct.name)?;
            if !same(&name, object) {
                return Err(wrong_object(line, kind, object, &name));
            }
            Ok(Some(local_name(dialect, line, &ct.table_name)?))
        }
        (CustomizationKind::Trigger, _) => Err(wrong_kind(line, kind, "one CREATE TRIGGER", &sql)),
    }
}

/// A new table may only reference the tenant's own tables, and may not be a copy of
/// another database's table.
fn check_create_table(dialect: Dialect, line: usize, ct: &CreateTable) -> Result<(), CustomizationError> {
    if ct.query.is_some() || ct.like.is_some() || ct.clone.is_some() {
        return refuse(Some(line), "CREATE TABLE … AS / LIKE / CLONE is not allowed; declare the columns");
    }
    for c in &ct.constraints {
        if let TableConstraint::ForeignKey(fk) = c {
            local_name(dialect, line, &fk.foreign_table)?;
        }
    }
    for col in &ct.columns {
        for opt in &col.options {
            if let ColumnOption::ForeignKey(fk) = &opt.option {
                local_name(dialect, line, &fk.foreign_table)?;
            }
        }
    }
    Ok(())
}

/// For routine and trigger statements sqlparser cannot read: the header must be
/// `CREATE [OR REPLACE] FUNCTION|PROCEDURE|TRIGGER <object>`, and no word of the body
/// may name another database (`db.table`).
fn check_header_tokens(
    dialect: Dialect,
    kind: CustomizationKind,
    object: &str,
    st: &ScriptStatement,
) -> Result<(), CustomizationError> {
    let parser = parser_dialect(dialect);
    let tokens = Tokenizer::new(parser.as_ref(), &st.sql)
        .tokenize()
        .map_err(|e| CustomizationError { line: Some(st.line), reason: format!("cannot read: {e}") })?;
    let significant: Vec<&Token> = tokens.iter().filter(|t| !matches!(t, Token::Whitespace(_))).collect();
    let words: Vec<String> = significant
        .iter()
        .map(|t| match t {
            Token::Word(w) => w.value.to_ascii_uppercase(),
            other => other.to_string(),
        })
        .collect();
    let mut i = 0;
    let expect = |i: &mut usize, w: &str| {
        if words.get(*i).map(String::as_str) == Some(w) {
            *i += 1;
            true
        } else {
            false
        }
    };
    if !expect(&mut i, "CREATE") {
        return Err(wrong_kind(st.line, kind, "a CREATE statement", &st.sql));
    }
    if expect(&mut i, "OR") && !expect(&mut i, "REPLACE") {
        return Err(wrong_kind(st.line, kind, "a CREATE statement", &st.sql));
    }
    let allowed: &[&str] = if kind == CustomizationKind::Trigger { &["TRIGGER"] } else { &["FUNCTION", "PROCEDURE"] };
    if !allowed.iter().any(|w| expect(&mut i, w)) {
        return Err(wrong_kind(st.line, kind, &format!("CREATE {}", allowed.join(" or ")), &st.sql));
    }
    let name = match significant.get(i) {
        Some(Token::Word(w)) => w.value.clone(),
        _ => return refuse(Some(st.line), format!("expected the {kind} name `{object}` after CREATE")),
    };
    if matches!(significant.get(i + 1), Some(Token::Period)) {
        return refuse(Some(st.line), format!("`{name}.…` is outside the tenant's database; name objects without a database"));
    }
    if !same(&name, object) {
        return Err(wrong_object(st.line, kind, object, &name));
    }
    // In a body sqlparser cannot read, `a.b` may be an alias's column or another
    // database's table, and only the body's scope could tell. Be strict: bodies
    // name their tables' columns unqualified; only `NEW.`/`OLD.` are allowed.
    for w in significant.windows(3) {
        if let [Token::Word(a), Token::Period, Token::Word(_)] = w {
            let q = a.value.to_ascii_uppercase();
            if q != "NEW" && q != "OLD" {
                return refuse(
                    Some(st.line),
                    format!("`{}.…` may be another database; in a {kind} body use unqualified names (NEW./OLD. are fine)", a.value),
                );
            }
        }
    }
    Ok(())
}

/// MySQL runs routines with their creator's privileges unless told otherwise, and
/// tenantry creates them as its administrative user: require `SQL SECURITY INVOKER`.
fn check_mysql_security(kind: CustomizationKind, st: &ScriptStatement) -> Result<(), CustomizationError> {
    if kind != CustomizationKind::Function {
        return Ok(());
    }
    let upper = st.sql.to_ascii_uppercase();
    let words: Vec<&str> = upper.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').filter(|w| !w.is_empty()).collect();
    if words.windows(3).any(|w| w == ["SQL", "SECURITY", "INVOKER"]) {
        Ok(())
    } else {
        refuse(Some(st.line), "MySQL routines must declare SQL SECURITY INVOKER (they would otherwise run as tenantry's administrative user)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CustomizationKind::*;

    fn ok(d: Dialect, k: CustomizationKind, o: &str, sql: &str) {
        if let Err(e) = check_customization(d, k, o, sql) {
            panic!("{d} {k} {o}: refused: {e}\n{sql}");
        }
    }

    fn no(d: Dialect, k: CustomizationKind, o: &str, sql: &str, why: &str) {
        match check_customization(d, k, o, sql) {
            Ok(_) => panic!("{d} {k} {o}: accepted\n{sql}"),
            Err(e) => assert!(e.to_string().contains(why), "{d}: `{e}` does not say `{why}`"),
        }
    }

    const ALL: [Dialect; 3] = [Dialect::Mysql, Dialect::Postgres, Dialect::Sqlite];

    #[test]
    fn accepts_each_kind() {
        for d in ALL {
            ok(d, Table, "donations", "CREATE TABLE donations (id INTEGER PRIMARY KEY, amount DECIMAL(10,2) NOT NULL);\nCREATE INDEX idx_donations_amount ON donations (amount);");
            ok(d, Column, "members.nickname", "ALTER TABLE members ADD COLUMN nickname VARCHAR(50) NULL");
            ok(d, Index, "idx_members_city", "CREATE INDEX idx_members_city ON members (city)");
            ok(d, View, "big_donors", "CREATE VIEW big_donors AS SELECT m.id, m.email FROM members m JOIN donations d ON d.member_id = m.id WHERE d.amount > 1000");
        }
        ok(Dialect::Postgres, Function, "add_one", "CREATE FUNCTION add_one(x integer) RETURNS integer LANGUAGE sql AS $$ SELECT x + 1 $$");
        ok(Dialect::Mysql, Function, "add_one", "CREATE FUNCTION add_one(x INT) RETURNS INT DETERMINISTIC SQL SECURITY INVOKER RETURN x + 1");
        no(Dialect::Mysql, Function, "add_one", "CREATE FUNCTION add_one(x INT) RETURNS INT DETERMINISTIC RETURN x + 1", "SQL SECURITY INVOKER");
        ok(Dialect::Mysql, Trigger, "members_touch", "CREATE TRIGGER members_touch BEFORE UPDATE ON members FOR EACH ROW SET NEW.city = TRIM(NEW.city)");
        ok(Dialect::Postgres, Table, "t", "CREATE TABLE t (id INT, o INT REFERENCES members (id) ON DELETE SET NULL)");
        ok(Dialect::Sqlite, Trigger, "members_touch", "CREATE TRIGGER members_touch AFTER UPDATE ON members BEGIN UPDATE members SET city = city WHERE id = NEW.id; END");
        ok(Dialect::Postgres, Table, "notes", "CREATE TABLE public.notes (id serial PRIMARY KEY, member_id integer REFERENCES members (id))");
    }

    #[test]
    fn refuses_hostile_sql() {
        for d in ALL {
            no(d, Table, "t", "DROP DATABASE tenant_other", "database-level");
            no(d, Table, "t", "GRANT ALL ON members TO someone", "privilege");
            no(d, Table, "t", "CREATE USER evil IDENTIFIED BY 'x'", "user management");
            no(d, Column, "members.x", "ALTER TABLE members ADD COLUMN x INT; -- fine\nDROP TABLE members", "one statement");
            no(d, Column, "members.x", "ALTER TABLE members ADD COLUMN x INT /* a comment ; */; DELETE FROM members", "one statement");
            no(d, View, "v", "CREATE VIEW v AS SELECT * FROM tenant_other.members", "outside the tenant");
            no(d, Table, "t", "CREATE TABLE t (id INT, o INT REFERENCES other_db.members (id))", "outside the tenant");
            no(d, Table, "t", "CREATE TABLE t AS SELECT * FROM members", "AS / LIKE");
            no(d, Index, "i", "CREATE INDEX j ON members (city)", "may only create `i`");
            no(d, Column, "members.x", "ALTER TABLE members DROP COLUMN city", "ADD COLUMN");
            no(d, View, "v", "DELETE FROM members", "CREATE VIEW");
        }
        no(Dialect::Mysql, Trigger, "tr", "CREATE TRIGGER tr AFTER INSERT ON members FOR EACH ROW INSERT INTO tenant_b.members (id) VALUES (NEW.id)", "another database");
        no(Dialect::Mysql, Table, "t", "LOAD DATA INFILE '/etc/passwd' INTO TABLE t", "reading files");
        no(Dialect::Mysql, View, "v", "SELECT * FROM members INTO OUTFILE '/tmp/x'", "writing files");
        no(Dialect::Mysql, Table, "t", "CREATE TABLE t (id INT) DATA DIRECTORY = '/tmp'", "directory");
        no(Dialect::Mysql, Function, "f", "CREATE DEFINER=root@localhost FUNCTION f() RETURNS INT RETURN 1", "DEFINER");
        no(Dialect::Postgres, Function, "f", "CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $$ SELECT pg_read_file('/etc/passwd') $$", "reading files");
        no(Dialect::Postgres, Function, "f", "CREATE FUNCTION f() RETURNS int LANGUAGE plpythonu AS $$ return 1 $$", "language");
        no(Dialect::Postgres, Table, "t", "COPY members TO '/tmp/x'", "COPY");
        no(Dialect::Sqlite, Table, "t", "ATTACH DATABASE '/tmp/x.db' AS x", "attaching");
        no(Dialect::Postgres, View, "v", "CREATE VIEW v AS SELECT * FROM pg_catalog.pg_authid", "outside the tenant");
        no(Dialect::Mysql, Column, "bad name.x", "ALTER TABLE members ADD COLUMN x INT", "named `table.column`");
        no(Dialect::Mysql, Table, "t", "", "no statement");
    }

    #[test]
    fn refusals_name_the_line() {
        let e = check_customization(Dialect::Mysql, Table, "t", "CREATE TABLE t (id INT);\n\nGRANT ALL ON t TO x").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
    }
}
