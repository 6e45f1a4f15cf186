//! Token text: Hugging Face and CTranslate2 store GPT-2's byte-level strings (each byte shown
//! as a printable character); ggml stores the raw bytes.

use std::collections::HashMap;

use super::ConvertError;

/// GPT-2's byte ↔ character table: printable Latin-1 bytes map to themselves, the other 68
/// bytes to U+0100 onwards, in byte order.
fn byte_for_char() -> HashMap<char, u8> {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    let mut next = 0u32;
    (0..=255u8)
        .map(|byte| {
            let ch = if printable(byte) {
                char::from(byte)
            } else {
                next += 1;
                char::from_u32(255 + next).unwrap_or(char::REPLACEMENT_CHARACTER)
            };
            (ch, byte)
        })
        .collect()
}

/// Turns byte-level strings, by id, into the token bytes ggml stores.
pub struct ByteLevel {
    table: HashMap<char, u8>,
}

impl ByteLevel {
    pub fn new() -> Self {
        Self {
            table: byte_for_char(),
        }
    }

    pub fn bytes(&self, id: usize, token: &str) -> Result<Vec<u8>, ConvertError> {
        token
            .chars()
            .map(|ch| self.table.get(&ch).copied())
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| {
                ConvertError::Invalid(format!(
                    "vocabulary token {id} ({:?}) is not a byte-level BPE token",
                    token.escape_debug().to_string()
                ))
            })
    }
}

/// The ids whisper.cpp reads from the file: every text token, up to and including the
/// first special one's predecessor slot (`<|endoftext|>` on English-only models, the empty
/// token before it on multilingual ones). Later ids are named by whisper.cpp itself.
pub const FILE_TOKENS: usize = 50257;

/// The token bytes for ids `0..FILE_TOKENS` from `by_id` (byte-level strings; `None` where a
/// source has no entry, which only the multilingual empty token 50256 may lack).
pub fn file_tokens(by_id: &[Option<String>]) -> Result<Vec<Vec<u8>>, ConvertError> {
    let decoder = ByteLevel::new();
    (0..FILE_TOKENS)
        .map(|id| match by_id.get(id).and_then(Option::as_deref) {
            Some(token) => decoder.bytes(id, token),
            None if id == FILE_TOKENS - 1 => Ok(Vec::new()),
            None => Err(ConvertError::Invalid(format!(
                "the vocabulary has no token {id} (a Whisper vocabulary has {FILE_TOKENS} text tokens)"
            ))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_level_strings_decode_to_their_bytes() {
        let decoder = ByteLevel::new();
        // "Ġ" is the space, "Ċ" the newline; printable ASCII is itself.
        assert_eq!(decoder.bytes(0, "Ġhello").unwrap(), b" hello");
        assert_eq!(decoder.bytes(0, "Ċ").unwrap(), b"\n");
        assert_eq!(decoder.bytes(0, "<|endoftext|>").unwrap(), b"<|endoftext|>");
        // "Ã©" is é's two UTF-8 bytes.
        assert_eq!(decoder.bytes(0, "Ã©").unwrap(), "é".as_bytes());
        assert_eq!(decoder.bytes(0, "").unwrap(), b"");
        assert!(decoder.bytes(7, "héllo\u{4e2d}").is_err());
    }

    #[test]
    fn every_byte_has_exactly_one_character() {
        let table = byte_for_char();
        assert_eq!(table.len(), 256);
        let mut bytes: Vec<u8> = table.values().copied().collect();
        bytes.sort_unstable();
        bytes.dedup();
        assert_eq!(bytes.len(), 256);
        assert_eq!(table[&'Ā'], 0);
        assert_eq!(table[&'Ġ'], b' ');
    }

    #[test]
    fn only_the_multilingual_empty_token_may_be_missing() {
        let mut by_id: Vec<Option<String>> =
            (0..FILE_TOKENS).map(|i| Some(format!("t{i}"))).collect();
        by_id[FILE_TOKENS - 1] = None;
        let tokens = file_tokens(&by_id).unwrap();
        assert_eq!(tokens.len(), FILE_TOKENS);
        assert_eq!(tokens[FILE_TOKENS - 1], b"");
        by_id[5] = None;
        assert!(
            file_tokens(&by_id)
                .unwrap_err()
                .to_string()
                .contains("no token 5")
        );
    }
}
