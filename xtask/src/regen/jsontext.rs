//! Edits on JSON *text* that keep every other byte as it is: replacing the top-level
//! `basePath` value, and re-indenting compact JSON the way Asterisk's own files are laid out.

/// Returns `text` with the string value of the top-level key `basePath` replaced by `new`
/// (JSON-encoded). Every other byte is kept. `None` when there is no top-level `basePath`
/// string (the caller reports that; the text must be valid JSON).
pub(crate) fn replace_base_path(text: &[u8], new: &str) -> Option<Vec<u8>> {
    let (start, end) = top_level_string_value(text, "basePath")?;
    let encoded = serde_json::to_string(new).expect("a string always serializes");
    let mut out = Vec::with_capacity(text.len() + encoded.len());
    out.extend_from_slice(&text[..start]);
    out.extend_from_slice(encoded.as_bytes());
    out.extend_from_slice(&text[end..]);
    Some(out)
}

/// Byte range of the string token that is the value of top-level key `key` (quotes included).
fn top_level_string_value(text: &[u8], key: &str) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    let mut i = 0;
    // the last string token seen at depth 1 and whether the next token is its value
    let mut last_key: Option<(usize, usize)> = None;
    let mut want_value_of_key = false;
    while i < text.len() {
        match text[i] {
            b'"' => {
                let end = string_end(text, i)?;
                if depth == 1 {
                    if want_value_of_key {
                        return Some((i, end));
                    }
                    last_key = Some((i, end));
                }
                i = end;
                continue;
            }
            b':' if depth == 1 => {
                want_value_of_key = matches!(last_key, Some((s, e))
                    if serde_json::from_slice::<String>(&text[s..e]).ok().as_deref() == Some(key));
                last_key = None;
            }
            b'{' | b'[' => {
                depth += 1;
                want_value_of_key = false;
            }
            b'}' | b']' => depth = depth.checked_sub(1)?,
            b',' => {
                want_value_of_key = false;
                last_key = None;
            }
            c if c.is_ascii_whitespace() => {}
            _ => want_value_of_key = false,
        }
        i += 1;
    }
    None
}

/// Index just past the closing quote of the string token starting at `start`.
fn string_end(text: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < text.len() {
        match text[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Lays out valid JSON with one tab per level, `"key": value`, empty `{}`/`[]` kept on one
/// line and a final newline: the layout of most of Asterisk's `rest-api/*.json` files.
/// Token order and string escapes are kept exactly as in `text`.
pub(crate) fn pretty_tabs(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.extend(std::iter::repeat_n(b'\t', depth));
    };
    let mut i = 0;
    while i < text.len() {
        let c = text[i];
        match c {
            b'"' => {
                let end = string_end(text, i).unwrap_or(text.len());
                out.extend_from_slice(&text[i..end]);
                i = end;
                continue;
            }
            b'{' | b'[' => {
                let close = if c == b'{' { b'}' } else { b']' };
                let next = text[i + 1..]
                    .iter()
                    .position(|b| !b.is_ascii_whitespace())
                    .map(|p| i + 1 + p);
                out.push(c);
                if let Some(n) = next.filter(|&n| text[n] == close) {
                    out.push(close);
                    i = n + 1;
                    continue;
                }
                depth += 1;
                newline(&mut out, depth);
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            b',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            c if c.is_ascii_whitespace() => {}
            _ => out.push(c),
        }
        i += 1;
    }
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_the_top_level_base_path() {
        let text = br#"{"a": {"basePath": "keep"}, "basePath" :  "http://127.0.0.1:8088/ari" , "b": ["basePath"]}"#;
        let out = replace_base_path(text, "http://localhost:8088/ari").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"a": {"basePath": "keep"}, "basePath" :  "http://localhost:8088/ari" , "b": ["basePath"]}"#
        );
        assert_eq!(replace_base_path(br#"{"x": "basePath"}"#, "y"), None);
        assert_eq!(replace_base_path(br#"{"basePath": 1}"#, "y"), None);
    }

    #[test]
    fn lays_out_with_tabs() {
        let out = pretty_tabs(br#"{"a":[],"b":{},"c":[1,"x\"y,:{"],"d":{"e":true}}"#);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\n\t\"a\": [],\n\t\"b\": {},\n\t\"c\": [\n\t\t1,\n\t\t\"x\\\"y,:{\"\n\t],\n\t\"d\": {\n\t\t\"e\": true\n\t}\n}\n"
        );
    }
}
