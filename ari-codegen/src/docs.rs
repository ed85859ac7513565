//! Spec prose → rustdoc text.

use proc_macro2::TokenStream;
use quote::quote;

/// Escapes spec prose for rustdoc: HTML line breaks become line breaks, every line is
/// trimmed (so nothing turns into a code block), brackets and angle brackets are escaped
/// (no broken links or HTML tags), and bare URLs are wrapped in `<…>`.
pub(crate) fn escape(text: &str) -> String {
    let text = text
        .replace("<br />", "\n")
        .replace("<br/>", "\n")
        .replace("<br>", "\n");
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let line = line.trim();
        let mut words = Vec::new();
        for word in line.split(' ') {
            words.push(escape_word(word));
        }
        out.push_str(&words.join(" "));
    }
    out.trim().to_owned()
}

fn escape_word(word: &str) -> String {
    if let Some(start) = word.find("http://").or_else(|| word.find("https://")) {
        let (before, url) = word.split_at(start);
        let end = url
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'' | ')'))
            .unwrap_or(url.len());
        let (url, after) = url.split_at(end);
        let (url, dot) = match url.strip_suffix('.') {
            Some(u) => (u, "."),
            None => (url, ""),
        };
        return format!(
            "{}<{url}>{dot}{}",
            escape_chars(before),
            escape_chars(after)
        );
    }
    escape_chars(word)
}

fn escape_chars(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '[' => out.push_str("\\["),
            ']' => out.push_str("\\]"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' => out.push_str("\\\\"),
            '*' => out.push_str("\\*"),
            '_' => out.push_str("\\_"),
            '`' => out.push_str("\\`"),
            '#' => out.push_str("\\#"),
            c => out.push(c),
        }
    }
    out
}

/// A sentence from optional spec text, ending with a period.
pub(crate) fn sentence(text: Option<&str>, fallback: &str) -> String {
    let t = text
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or(fallback);
    let mut t = escape(t);
    if !t.ends_with(['.', '!', '?', ':']) {
        t.push('.');
    }
    t
}

/// `#[doc = "…"]` attributes, one per line (already escaped markdown).
pub(crate) fn attrs(markdown: &str) -> TokenStream {
    let mut out = TokenStream::new();
    for line in markdown.lines() {
        let line = if line.is_empty() {
            String::new()
        } else {
            format!(" {line}")
        };
        out.extend(quote!(#[doc = #line]));
    }
    out
}
