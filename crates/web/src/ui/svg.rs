//! Pictures drawn by tenantry itself: a tables-and-foreign-keys diagram of a schema,
//! and small bar charts. Plain SVG strings built from escaped text.

use maud::{html, Markup, PreEscaped};
use std::collections::BTreeMap;
use tenantry_schema::Schema;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

const BOX_W: i32 = 210;
const ROW_H: i32 = 15;
const MAX_ROWS: usize = 10;

/// Tables as boxes (primary key columns first, marked), foreign keys as lines.
pub fn schema_diagram(schema: &Schema) -> Markup {
    let names: Vec<&String> = schema.tables.keys().collect();
    if names.is_empty() {
        return html! { p.muted { "No tables." } };
    }
    let per_row = ((names.len() as f64).sqrt().ceil() as usize).clamp(1, 5);
    let mut pos: BTreeMap<&str, (i32, i32, i32)> = BTreeMap::new();
    let mut row_heights: Vec<i32> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let t = &schema.tables[*name];
        let h = 24 + ROW_H * (t.columns.len().min(MAX_ROWS) as i32 + i32::from(t.columns.len() > MAX_ROWS)) + 6;
        let r = i / per_row;
        if row_heights.len() <= r {
            row_heights.push(0);
        }
        row_heights[r] = row_heights[r].max(h);
        pos.insert(name.as_str(), ((i % per_row) as i32, r as i32, h));
    }
    let y_of = |r: i32| 20 + row_heights.iter().take(r as usize).map(|h| h + 40).sum::<i32>();
    let width = per_row as i32 * (BOX_W + 50) + 20;
    let height = y_of(row_heights.len() as i32) + 10;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"diagram\" role=\"img\" aria-label=\"tables and foreign keys\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">"
    );
    // Lines first, under the boxes.
    for (name, t) in &schema.tables {
        let Some(&(c, r, h)) = pos.get(name.as_str()) else { continue };
        for fk in t.foreign_keys.values() {
            let Some(&(c2, r2, h2)) = pos.get(fk.referenced_table.as_str()) else { continue };
            let (x1, y1) = (20 + c * (BOX_W + 50) + BOX_W / 2, y_of(r) + h / 2);
            let (x2, y2) = (20 + c2 * (BOX_W + 50) + BOX_W / 2, y_of(r2) + h2 / 2);
            svg.push_str(&format!(
                "<line x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\" stroke=\"#7a8ca5\" stroke-width=\"1.2\"><title>{}</title></line><circle cx=\"{x2}\" cy=\"{y2}\" r=\"3\" fill=\"#7a8ca5\"/>",
                esc(&format!("{name}.{} → {}", fk.columns.join(","), fk.referenced_table))
            ));
        }
    }
    for (name, t) in &schema.tables {
        let Some(&(c, r, h)) = pos.get(name.as_str()) else { continue };
        let (x, y) = (20 + c * (BOX_W + 50), y_of(r));
        svg.push_str(&format!(
            "<g class=\"table\"><rect x=\"{x}\" y=\"{y}\" width=\"{BOX_W}\" height=\"{h}\" rx=\"4\" fill=\"#fff\" stroke=\"#34495e\"/>\
             <rect x=\"{x}\" y=\"{y}\" width=\"{BOX_W}\" height=\"20\" rx=\"4\" fill=\"#34495e\"/>\
             <text x=\"{}\" y=\"{}\" fill=\"#fff\" font-weight=\"bold\">{}</text>",
            x + 6,
            y + 14,
            esc(name)
        ));
        let pk: Vec<&String> = t.primary_key.as_ref().map(|k| k.columns.iter().collect()).unwrap_or_default();
        let mut cols: Vec<_> = t.columns.iter().collect();
        cols.sort_by_key(|c| !pk.contains(&&c.name));
        for (i, col) in cols.iter().take(MAX_ROWS).enumerate() {
            let key = if pk.contains(&&col.name) { "PK " } else if t.foreign_keys.values().any(|f| f.columns.contains(&col.name)) { "FK " } else { "" };
            svg.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" fill=\"#222\">{}{}<tspan fill=\"#888\"> {}</tspan></text>",
                x + 6,
                y + 34 + i as i32 * ROW_H,
                key,
                esc(&col.name),
                esc(&col.data_type)
            ));
        }
        if t.columns.len() > MAX_ROWS {
            svg.push_str(&format!("<text x=\"{}\" y=\"{}\" fill=\"#888\">… {} more</text>", x + 6, y + 34 + MAX_ROWS as i32 * ROW_H, t.columns.len() - MAX_ROWS));
        }
        svg.push_str("</g>");
    }
    svg.push_str("</svg>");
    html! { div.diagram-wrap { (PreEscaped(svg)) } }
}

/// A horizontal bar chart of labelled counts.
pub fn bar_chart(title: &str, bars: &[(&str, i64, &str)]) -> Markup {
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let h = 22 * bars.len() as i32 + 10;
    let mut svg = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 360 {h}\" width=\"360\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">", esc(title));
    for (i, (label, n, color)) in bars.iter().enumerate() {
        let y = 5 + i as i32 * 22;
        let w = (*n as f64 / max as f64 * 220.0) as i32;
        svg.push_str(&format!(
            "<text x=\"0\" y=\"{}\">{}</text><rect x=\"80\" y=\"{y}\" width=\"{}\" height=\"16\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{n}</text>",
            y + 12,
            esc(label),
            w.max(1),
            esc(color),
            86 + w,
            y + 12
        ));
    }
    svg.push_str("</svg>");
    html! { figure { figcaption { (title) } (PreEscaped(svg)) } }
}
