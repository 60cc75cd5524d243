//! Splitting SQL scripts into statements, on the `sqlparser` tokenizer.
//!
//! A script is what a template module, a migration or a customization holds: many
//! statements, comments, quoted strings, PostgreSQL dollar-quoting, SQLite trigger
//! bodies and MySQL `DELIMITER` directives. Statements are cut only at a delimiter
//! that the tokenizer saw outside every string, quoted identifier and comment, and
//! outside a `BEGIN … END` body. Each statement keeps its 1-based number and the line
//! it starts on, so an error can point at it.

use crate::Dialect;
use sqlparser::dialect::{Dialect as SqlDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Whitespace};

/// One statement of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptStatement {
    /// 1-based position in the script.
    pub number: usize,
    /// 1-based line of the script where the statement starts.
    pub line: usize,
    /// The statement's text, without its delimiter.
    pub sql: String,
}

/// A script that cannot be split, with where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("line {line}, column {column}: {message}")]
    Tokenize { line: usize, column: usize, message: String },
    #[error("line {line}: DELIMITER needs a delimiter, as in `DELIMITER $$`")]
    EmptyDelimiter { line: usize },
}

/// The `sqlparser` dialect that matches one of ours.
pub fn parser_dialect(dialect: Dialect) -> Box<dyn SqlDialect> {
    match dialect {
        Dialect::Mysql => Box::new(MySqlDialect {}),
        Dialect::Postgres => Box::new(PostgreSqlDialect {}),
        Dialect::Sqlite => Box::new(SQLiteDialect {}),
    }
}

/// A `DELIMITER x` line (MySQL client syntax), replaced by blanks before tokenizing.
struct Directive {
    /// Byte offset of the line's start: the new delimiter applies after it.
    at: usize,
    delimiter: String,
}

/// Blanks out MySQL `DELIMITER` directive lines (keeping offsets and line numbers) and
/// returns them. Like the `mysql` client, a directive is a whole line of its own.
fn take_directives(script: &str) -> Result<(String, Vec<Directive>), SplitError> {
    let mut text = String::with_capacity(script.len());
    let mut directives = Vec::new();
    for (i, line) in script.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_start();
        let is_directive = trimmed.len() >= 9
            && trimmed.is_char_boundary(9)
            && trimmed[..9].eq_ignore_ascii_case("delimiter")
            && trimmed[9..].starts_with([' ', '\t', '\n', '\r']);
        let rest = if is_directive { trimmed[9..].trim() } else { "" };
        if is_directive {
            if rest.is_empty() {
                return Err(SplitError::EmptyDelimiter { line: i + 1 });
            }
            directives.push(Directive { at: text.len(), delimiter: rest.to_string() });
            // Same byte length, so every later offset and line number stays true.
            let body = line.trim_end_matches('\n');
            text.push_str(&" ".repeat(body.len()));
            text.push_str(&line[body.len()..]);
        } else {
            text.push_str(line);
        }
    }
    Ok((text, directives))
}

/// Byte offsets of each line's start, to turn token locations into offsets.
struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, starts }
    }

    /// Byte offset of a 1-based (line, column-in-characters) location.
    fn offset(&self, line: u64, column: u64) -> usize {
        let Some(&start) = self.starts.get(line.saturating_sub(1) as usize) else {
            return self.text.len();
        };
        let rest = &self.text[start..];
        rest.char_indices()
            .nth(column.saturating_sub(1) as usize)
            .map(|(i, _)| start + i)
            .unwrap_or(self.text.len())
    }
}

/// A token with its byte range in the script.
struct Placed<'t> {
    token: &'t Token,
    start: usize,
    end: usize,
    line: usize,
}

fn is_protected(token: &Token) -> bool {
    match token {
        Token::Whitespace(Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_)) => true,
        Token::Word(w) => w.quote_style.is_some(),
        Token::SingleQuotedString(_)
        | Token::DoubleQuotedString(_)
        | Token::TripleSingleQuotedString(_)
        | Token::TripleDoubleQuotedString(_)
        | Token::DollarQuotedString(_)
        | Token::SingleQuotedByteStringLiteral(_)
        | Token::DoubleQuotedByteStringLiteral(_)
        | Token::NationalStringLiteral(_)
        | Token::EscapedStringLiteral(_)
        | Token::UnicodeStringLiteral(_)
        | Token::HexStringLiteral(_) => true,
        _ => false,
    }
}

fn is_blank(token: &Token) -> bool {
    matches!(token, Token::Whitespace(_))
}

/// An unquoted word, uppercased: `sqlparser`'s keyword list lacks some MySQL
/// stored-program words (`REPEAT`), so bodies are tracked by text.
fn keyword(token: &Token) -> Option<String> {
    match token {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    }
}

/// Tracks `BEGIN … END` bodies of routines and triggers, where `;` does not end the
/// statement. Only a statement that creates a trigger, function, procedure or event
/// opens a body; a plain `BEGIN;` is a transaction.
#[derive(Default)]
struct BodyDepth {
    leading: Vec<String>,
    routine: bool,
    depth: i32,
    after_end: bool,
}

impl BodyDepth {
    fn reset(&mut self) {
        *self = BodyDepth::default();
    }

    fn see(&mut self, kw: Option<String>) {
        let after_end = std::mem::take(&mut self.after_end);
        let Some(kw) = kw else { return };
        if self.leading.len() < 8 && !self.routine {
            self.leading.push(kw.clone());
            self.routine = self.leading.first().map(String::as_str) == Some("CREATE")
                && self
                    .leading
                    .iter()
                    .any(|k| matches!(k.as_str(), "TRIGGER" | "FUNCTION" | "PROCEDURE" | "EVENT"));
        }
        if !self.routine {
            return;
        }
        match kw.as_str() {
            // `END IF`, `END LOOP`, … close blocks we never counted as opened.
            "IF" | "LOOP" | "WHILE" | "REPEAT" if after_end => self.depth += 1,
            "BEGIN" | "CASE" if !after_end => self.depth += 1,
            "CASE" => {} // `END CASE`: its END already closed the CASE
            "END" => {
                self.depth -= 1;
                self.after_end = true;
            }
            _ => {}
        }
    }

    fn inside_body(&self) -> bool {
        self.depth > 0
    }
}

/// Splits a script into its statements.
pub fn split_script(dialect: Dialect, script: &str) -> Result<Vec<ScriptStatement>, SplitError> {
    let (text, directives) = if dialect == Dialect::Mysql {
        take_directives(script)?
    } else {
        (script.to_string(), Vec::new())
    };
    let parser_dialect = parser_dialect(dialect);
    let tokens: Vec<TokenWithSpan> = Tokenizer::new(parser_dialect.as_ref(), &text)
        .tokenize_with_location()
        .map_err(|e| SplitError::Tokenize {
            line: e.location.line as usize,
            column: e.location.column as usize,
            message: e.message,
        })?;
    let index = LineIndex::new(&text);
    let starts: Vec<usize> =
        tokens.iter().map(|t| index.offset(t.span.start.line, t.span.start.column)).collect();
    let placed: Vec<Placed> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| Placed {
            token: &t.token,
            start: starts[i],
            end: starts.get(i + 1).copied().unwrap_or(text.len()).max(starts[i]),
            line: t.span.start.line as usize,
        })
        .collect();

    let mut statements = Vec::new();
    let mut current: Option<(usize, usize)> = None; // (start offset, line) of first significant token
    let mut body = BodyDepth::default();
    let mut next_directive = 0;
    let mut delimiter = ";".to_string();
    let push = |start: usize, line: usize, end: usize, statements: &mut Vec<ScriptStatement>| {
        let sql = text[start..end].trim_end().to_string();
        if !sql.is_empty() {
            statements.push(ScriptStatement { number: statements.len() + 1, line, sql });
        }
    };

    for p in &placed {
        while next_directive < directives.len() && directives[next_directive].at <= p.start {
            if let Some((start, line)) = current.take() {
                push(start, line, directives[next_directive].at, &mut statements);
                body.reset();
            }
            delimiter = directives[next_directive].delimiter.clone();
            next_directive += 1;
        }
        if is_blank(p.token) {
            continue;
        }
        // Find delimiter occurrences in this token's text (never inside protected tokens).
        let raw = &text[p.start..p.end];
        let mut cursor = 0;
        // With a custom DELIMITER the author marks every boundary: no body tracking.
        let custom = delimiter != ";";
        if !is_protected(p.token) && (custom || !body.inside_body()) {
            while let Some(found) = raw[cursor..].find(delimiter.as_str()) {
                let at = p.start + cursor + found;
                if at > p.start + cursor && current.is_none() {
                    current = Some((p.start + cursor, p.line));
                }
                if let Some((start, line)) = current.take() {
                    push(start, line, at, &mut statements);
                }
                body.reset();
                cursor += found + delimiter.len();
            }
        }
        if cursor < raw.trim_end().len() {
            if current.is_none() {
                current = Some((p.start + cursor, p.line));
            }
            body.see(keyword(p.token));
        }
    }
    if let Some((start, line)) = current.take() {
        push(start, line, text.len(), &mut statements);
    }
    Ok(statements)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqls(d: Dialect, s: &str) -> Vec<String> {
        split_script(d, s).unwrap().into_iter().map(|s| s.sql).collect()
    }

    #[test]
    fn splits_on_semicolons_outside_strings_and_comments() {
        let s = "CREATE TABLE a (x TEXT DEFAULT 'a;b'); -- c;d\n/* e;f */ INSERT INTO a VALUES (';');\n\n";
        for d in Dialect::ALL {
            assert_eq!(
                sqls(d, s),
                vec!["CREATE TABLE a (x TEXT DEFAULT 'a;b')", "/* e;f */ INSERT INTO a VALUES (';')"
                    .trim_start_matches("/* e;f */ ")],
                "{d}"
            );
        }
    }

    #[test]
    fn reports_numbers_and_lines() {
        let st = split_script(Dialect::Postgres, "SELECT 1;\n\n-- x\nSELECT\n 2;SELECT 3").unwrap();
        assert_eq!(st.iter().map(|s| (s.number, s.line)).collect::<Vec<_>>(), vec![(1, 1), (2, 4), (3, 5)]);
        assert_eq!(st[1].sql, "SELECT\n 2");
    }

    #[test]
    fn keeps_dollar_quoted_bodies_whole() {
        let s = "CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql;\nSELECT f();";
        let st = sqls(Dialect::Postgres, s);
        assert_eq!(st.len(), 2);
        assert!(st[0].ends_with("LANGUAGE plpgsql"));
        let s = "CREATE FUNCTION g() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql; SELECT 2";
        assert_eq!(sqls(Dialect::Postgres, s).len(), 2);
    }

    #[test]
    fn keeps_sqlite_trigger_bodies_whole() {
        let s = "CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE b SET n = n + 1; \
                 UPDATE c SET m = CASE WHEN 1 THEN 2 ELSE 3 END; END;\nBEGIN;\nSELECT 1;\nCOMMIT;";
        let st = sqls(Dialect::Sqlite, s);
        assert_eq!(st.len(), 4, "{st:#?}");
        assert!(st[0].ends_with("END"));
        assert_eq!(st[1], "BEGIN");
    }

    #[test]
    fn honours_mysql_delimiter_directives() {
        let s = "CREATE TABLE a (n INT);\nDELIMITER $$\nCREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW\nBEGIN\n  IF NEW.n < 0 THEN SET NEW.n = 0; END IF;\nEND$$\nDELIMITER ;\nINSERT INTO a VALUES (1);\n";
        let st = split_script(Dialect::Mysql, s).unwrap();
        assert_eq!(st.len(), 3, "{st:#?}");
        assert!(st[1].sql.starts_with("CREATE TRIGGER") && st[1].sql.ends_with("END"));
        assert_eq!(st[1].line, 3);
        assert_eq!(st[2].sql, "INSERT INTO a VALUES (1)");
        assert_eq!(st[2].line, 8);
    }

    #[test]
    fn mysql_trigger_body_without_directive() {
        let s = "CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN IF NEW.n < 0 THEN SET NEW.n = 0; END IF; SET NEW.m = 1; END;\nSELECT 1;";
        let st = sqls(Dialect::Mysql, s);
        assert_eq!(st.len(), 2, "{st:#?}");
    }

    #[test]
    fn empty_and_comment_only_scripts_have_no_statements() {
        for d in Dialect::ALL {
            assert!(sqls(d, "").is_empty());
            assert!(sqls(d, " -- nothing\n/* here */ ;;\n").is_empty());
        }
    }

    #[test]
    fn unterminated_string_is_an_error_with_line() {
        let err = split_script(Dialect::Postgres, "SELECT 1;\nSELECT 'oops").unwrap_err();
        assert!(matches!(err, SplitError::Tokenize { line: 2, .. }), "{err:?}");
    }
}
