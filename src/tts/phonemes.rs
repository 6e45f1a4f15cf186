//! Piper's phonemization rules, in pure Rust: how piper-tts 1.8.0 turns espeak-ng's clauses
//! into sentences of phonemes (`EspeakPhonemizer.phonemize`), splices raw `[[ … ]]` phoneme
//! blocks in (`PiperVoice.phonemize`) and maps phonemes to model ids (`phonemes_to_ids`).
//! Every quirk here is deliberate: a voice only sounds right with the exact ids it was
//! trained on. espeak-ng itself is called through `tts::espeak`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::BuildHasher;

use unicode_normalization::UnicodeNormalization;

/// One clause as espeak-ng returns it: IPA phonemes and the raw clause terminator
/// (`ReadClause`'s return value, as `espeak_TextToPhonemesWithTerminator` reports it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    pub phonemes: String,
    pub terminator: i32,
}

// Clause terminator values from espeak-ng's translate.h.
const CLAUSE_TYPE_SENTENCE: i32 = 0x0008_0000;
const CLAUSE_PERIOD: i32 = 40 | 0x0008_0000;
const CLAUSE_QUESTION: i32 = 40 | 0x2000 | 0x0008_0000;
const CLAUSE_EXCLAMATION: i32 = 45 | 0x3000 | 0x0008_0000;
const CLAUSE_COMMA: i32 = 20 | 0x1000 | 0x0004_0000;
const CLAUSE_COLON: i32 = 30 | 0x0004_0000;
const CLAUSE_SEMICOLON: i32 = 30 | 0x1000 | 0x0004_0000;

/// The punctuation piper appends for a terminator. piper's bridge compares the masked value
/// for exact equality, so "…", CJK full stops, paragraphs and the end of text give "".
pub fn terminator_punctuation(terminator: i32) -> &'static str {
    match terminator & 0x000F_FFFF {
        CLAUSE_PERIOD => ".",
        CLAUSE_QUESTION => "?",
        CLAUSE_EXCLAMATION => "!",
        CLAUSE_COMMA => ",",
        CLAUSE_COLON => ":",
        CLAUSE_SEMICOLON => ";",
        _ => "",
    }
}

/// Whether the clause closes a sentence.
pub fn ends_sentence(terminator: i32) -> bool {
    terminator & CLAUSE_TYPE_SENTENCE != 0
}

/// `EspeakPhonemizer.phonemize`: one text's clauses to sentences of phonemes.
pub fn clauses_to_sentences(
    clauses: &[Clause],
    vowel_clusters: &[Vec<String>],
) -> Vec<Vec<String>> {
    let clusters = Clusters::new(vowel_clusters);
    let mut sentences = Vec::new();
    let mut sentence: Vec<String> = Vec::new();
    for clause in clauses {
        let mut text = strip_language_flags(&clause.phonemes);
        let punctuation = terminator_punctuation(clause.terminator);
        text.push_str(punctuation);
        if matches!(punctuation, "," | ":" | ";") {
            // Not a sentence boundary: keep the words apart.
            text.push(' ');
        }
        // One NFD codepoint is one phoneme, so diacritics become phonemes of their own.
        sentence.extend(text.nfd().map(String::from));
        if ends_sentence(clause.terminator) {
            sentences.push(clusters.merge(std::mem::take(&mut sentence)));
        }
    }
    if !sentence.is_empty() {
        // Text that stopped without a sentence terminator.
        sentences.push(clusters.merge(sentence));
    }
    sentences
}

/// Python's `re.sub(r"\([^)]+\)", "", s)`: drops language switch flags such as "(en)".
fn strip_language_flags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('(') {
        let after = &rest[open + 1..];
        match after.find(')') {
            // At least one character between the brackets, none of them ')'.
            Some(close) if close > 0 => {
                out.push_str(&rest[..open]);
                rest = &after[close + 1..];
            }
            _ => {
                out.push_str(&rest[..=open]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A voice's `vowel_clusters`: runs of phonemes merged into one, longest match first.
struct Clusters {
    set: HashSet<Vec<String>>,
    max_len: usize,
}

impl Clusters {
    fn new(clusters: &[Vec<String>]) -> Self {
        let set: HashSet<Vec<String>> = clusters.iter().cloned().collect();
        let max_len = set.iter().map(Vec::len).max().unwrap_or(0);
        Clusters { set, max_len }
    }

    /// piper's `_merge_known_vowel_clusters`; clusters shorter than 2 never match.
    fn merge(&self, phonemes: Vec<String>) -> Vec<String> {
        if self.max_len < 2 {
            return phonemes;
        }
        let mut out = Vec::with_capacity(phonemes.len());
        let mut i = 0;
        while i < phonemes.len() {
            let longest = self.max_len.min(phonemes.len() - i);
            let matched = (2..=longest)
                .rev()
                .find(|&n| self.set.contains(&phonemes[i..i + n]));
            match matched {
                Some(n) => {
                    out.push(phonemes[i..i + n].concat());
                    i += n;
                }
                None => {
                    out.push(phonemes[i].clone());
                    i += 1;
                }
            }
        }
        out
    }
}

/// `PiperVoice.phonemize` for espeak voices: text with optional raw `[[ phonemes ]]` blocks
/// to sentences. `espeak` phonemizes one text part (it is called even for empty parts,
/// as piper does). Arabic diacritization (tashkeel) is not done.
///
/// Quirks kept on purpose: a block is taken verbatim (no NFD), gets " " on a side only when
/// the neighbouring text part has a space there, and the first sentence of the text after a
/// block is glued onto the block's sentence. Only a trailing empty sentence is dropped.
pub fn piper_sentences<E>(
    text: &str,
    vowel_clusters: &[Vec<String>],
    mut espeak: impl FnMut(&str) -> Result<Vec<Clause>, E>,
) -> Result<Vec<Vec<String>>, E> {
    let parts = split_phoneme_blocks(text);
    let mut sentences: Vec<Vec<String>> = Vec::new();
    let mut prev_raw = false;
    for (i, part) in parts.iter().enumerate() {
        // piper tests the prefix, not whether the part matched the block pattern.
        if part.starts_with("[[") {
            prev_raw = true;
            if sentences.is_empty() {
                sentences.push(Vec::new());
            }
            let current = sentences.last_mut().expect("pushed above");
            if i > 0 && parts[i - 1].ends_with(' ') {
                current.push(" ".to_string());
            }
            current.extend(block_phonemes(part).chars().map(String::from));
            if i + 1 < parts.len() && parts[i + 1].starts_with(' ') {
                current.push(" ".to_string());
            }
            continue;
        }
        let mut part_sentences = clauses_to_sentences(&espeak(part)?, vowel_clusters).into_iter();
        // Only when the previous part was a block does piper take the first sentence.
        if prev_raw
            && let (Some(first), Some(current)) = (part_sentences.next(), sentences.last_mut())
        {
            current.extend(first);
        }
        sentences.extend(part_sentences);
        prev_raw = false;
    }
    if sentences.last().is_some_and(Vec::is_empty) {
        sentences.pop();
    }
    Ok(sentences)
}

/// Python's `re.split(r"(\[\[.*?\]\])", text)`: text parts alternating with `[[…]]` blocks
/// (delimiters kept). `.` does not match a newline, so a block never spans lines.
fn split_phoneme_blocks(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut part_start = 0;
    let mut search = 0;
    while let Some(found) = text[search..].find("[[") {
        let open = search + found;
        let inner = &text[open + 2..];
        let line = &inner[..inner.find('\n').unwrap_or(inner.len())];
        match line.find("]]") {
            Some(close) => {
                let end = open + 2 + close + 2;
                parts.push(&text[part_start..open]);
                parts.push(&text[open..end]);
                part_start = end;
                search = end;
            }
            // No block starts here; the regex retries one character later.
            None => search = open + 1,
        }
    }
    parts.push(&text[part_start..]);
    parts
}

/// `text_part[2:-2].strip()` in Python: the characters between the brackets.
fn block_phonemes(part: &str) -> &str {
    let count = part.chars().count();
    if count <= 4 {
        return "";
    }
    let offset = |n: usize| part.char_indices().nth(n).map_or(part.len(), |(i, _)| i);
    part[offset(2)..offset(count - 2)].trim_matches(python_space)
}

/// Python's `str.isspace`: Unicode White_Space plus the separators U+001C..U+001F.
fn python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// A voice's `phoneme_id_map`: phoneme to model ids, as a `HashMap` or a `BTreeMap`.
pub trait PhonemeIdMap {
    fn ids(&self, phoneme: &str) -> Option<&[i64]>;
}

impl<S: BuildHasher> PhonemeIdMap for HashMap<String, Vec<i64>, S> {
    fn ids(&self, phoneme: &str) -> Option<&[i64]> {
        self.get(phoneme).map(Vec::as_slice)
    }
}

impl PhonemeIdMap for BTreeMap<String, Vec<i64>> {
    fn ids(&self, phoneme: &str) -> Option<&[i64]> {
        self.get(phoneme).map(Vec::as_slice)
    }
}

/// piper's `phonemes_to_ids`: `^`, `_`, then each phoneme's ids followed by `_`, then `$`.
/// Phonemes missing from the map are skipped (piper logs a warning), and so are missing
/// `^` `_` `$` entries, where piper would raise.
pub fn phonemes_to_ids(sentence: &[String], map: &impl PhonemeIdMap) -> Vec<i64> {
    let pad = map.ids("_").unwrap_or_default();
    let mut out = Vec::with_capacity(2 * sentence.len() + 3);
    out.extend_from_slice(map.ids("^").unwrap_or_default());
    out.extend_from_slice(pad);
    for phoneme in sentence {
        if let Some(ids) = map.ids(phoneme) {
            out.extend_from_slice(ids);
            out.extend_from_slice(pad);
        }
    }
    out.extend_from_slice(map.ids("$").unwrap_or_default());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn clause(phonemes: &str, terminator: i32) -> Clause {
        Clause {
            phonemes: phonemes.to_string(),
            terminator,
        }
    }

    const EOF: i32 = 40 | 0x0008_0000 | 0x0001_0000;

    #[test]
    fn terminators_map_by_exact_value() {
        assert_eq!(terminator_punctuation(CLAUSE_PERIOD), ".");
        assert_eq!(terminator_punctuation(CLAUSE_QUESTION | 0x0040_0000), "?");
        assert_eq!(terminator_punctuation(CLAUSE_COMMA), ",");
        assert_eq!(terminator_punctuation(CLAUSE_SEMICOLON), ";");
        assert_eq!(terminator_punctuation(CLAUSE_COLON), ":");
        assert_eq!(terminator_punctuation(CLAUSE_EXCLAMATION), "!");
        // End of text, paragraph, CJK full stop (optional space after).
        assert_eq!(terminator_punctuation(EOF), "");
        assert_eq!(terminator_punctuation(70 | 0x0008_0000), "");
        assert_eq!(terminator_punctuation(CLAUSE_PERIOD | 0x8000), "");
        assert!(ends_sentence(EOF));
        assert!(!ends_sentence(CLAUSE_COMMA));
    }

    #[test]
    fn language_flags_are_stripped_like_the_regex() {
        assert_eq!(strip_language_flags("(en)hˈɛloʊ(de)"), "hˈɛloʊ");
        assert_eq!(strip_language_flags("a()b"), "a()b");
        assert_eq!(strip_language_flags("((en)x"), "x");
        assert_eq!(strip_language_flags("a(b"), "a(b");
        assert_eq!(strip_language_flags("(()x)y"), "x)y");
    }

    #[test]
    fn clauses_become_sentences() {
        let clauses = [
            clause("həlˈoʊ", CLAUSE_COMMA),
            clause("wˈɜːld", CLAUSE_PERIOD),
            clause("ɐɡˈɛn", EOF),
        ];
        let sentences = clauses_to_sentences(&clauses, &[]);
        assert_eq!(sentences.len(), 2);
        assert_eq!(sentences[0].concat(), "həlˈoʊ, wˈɜːld.");
        assert_eq!(sentences[1].concat(), "ɐɡˈɛn");
        // Text without a sentence end still yields its phonemes.
        let open = clauses_to_sentences(&[clause("ɐ", CLAUSE_COMMA)], &[]);
        assert_eq!(open, vec![strings(&["ɐ", ",", " "])]);
        // Empty text: espeak gives one empty clause, piper one empty sentence.
        assert_eq!(
            clauses_to_sentences(&[clause("", EOF)], &[]),
            vec![Vec::<String>::new()]
        );
    }

    #[test]
    fn nfd_splits_diacritics() {
        let sentences = clauses_to_sentences(&[clause("ç̃é", EOF)], &[]);
        assert_eq!(
            sentences[0],
            strings(&["c", "\u{327}", "\u{303}", "e", "\u{301}"])
        );
    }

    #[test]
    fn vowel_clusters_merge_longest_first() {
        let clusters = vec![
            strings(&["a", "ɪ"]),
            strings(&["a", "ɪ", "ə"]),
            strings(&["x"]),
        ];
        let sentences = clauses_to_sentences(&[clause("baɪəaɪx", EOF)], &clusters);
        assert_eq!(sentences[0], strings(&["b", "aɪə", "aɪ", "x"]));
    }

    fn fake_espeak(part: &str) -> Result<Vec<Clause>, ()> {
        // Each '.'-terminated piece is a sentence; the rest ends at EOF.
        let mut clauses = Vec::new();
        let mut rest = part;
        while let Some(dot) = rest.find('.') {
            clauses.push(clause(rest[..dot].trim(), CLAUSE_PERIOD));
            rest = &rest[dot + 1..];
        }
        clauses.push(clause(rest.trim(), EOF));
        Ok(clauses)
    }

    fn joined(text: &str) -> Vec<String> {
        piper_sentences(text, &[], fake_espeak)
            .unwrap()
            .iter()
            .map(|s| s.concat())
            .collect()
    }

    #[test]
    fn blocks_split_like_python() {
        assert_eq!(split_phoneme_blocks("a [[x]] b"), vec!["a ", "[[x]]", " b"]);
        assert_eq!(
            split_phoneme_blocks("[[x]][[y]]"),
            vec!["", "[[x]]", "", "[[y]]", ""]
        );
        assert_eq!(split_phoneme_blocks("[[[a]]"), vec!["", "[[[a]]", ""]);
        assert_eq!(
            split_phoneme_blocks("[[a\n]] [[b]]"),
            vec!["[[a\n]] ", "[[b]]", ""]
        );
        assert_eq!(split_phoneme_blocks("no blocks"), vec!["no blocks"]);
    }

    #[test]
    fn raw_blocks_follow_piper() {
        assert_eq!(
            joined("hi [[ wˈɜːld ]] there. next."),
            vec!["hi wˈɜːld there.", "next."]
        );
        // The first sentence after a block is glued onto the block's sentence.
        assert_eq!(
            joined("[[wˈɜːld]] Next. Last."),
            vec!["wˈɜːld Next.", "Last."]
        );
        // A block at the start: espeak's empty first sentence receives it.
        assert_eq!(joined("[[a]][[b]]"), vec!["ab"]);
        // A part that starts with "[[" but never closes is still taken as a block.
        assert_eq!(joined("[[ab\ncd"), vec!["ab"]);
        assert_eq!(joined("[[x"), Vec::<String>::new());
        assert_eq!(joined(""), Vec::<String>::new());
    }

    #[test]
    fn blocks_are_not_normalized() {
        let sentences = piper_sentences("[[é]]", &[], fake_espeak).unwrap();
        assert_eq!(sentences, vec![strings(&["é"])]);
    }

    #[test]
    fn python_strip_includes_separators() {
        assert_eq!(block_phonemes("[[\u{1f} a\u{3000}]]"), "a");
        assert_eq!(block_phonemes("[[é b]]"), "é b");
    }

    #[test]
    fn ids_are_interspersed_with_pad() {
        let map: HashMap<String, Vec<i64>> = [("_", 0), ("^", 1), ("$", 2), ("a", 14), ("b", 15)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), vec![v]))
            .collect();
        let ids = phonemes_to_ids(&strings(&["a", "?", "b"]), &map);
        assert_eq!(ids, vec![1, 0, 14, 0, 15, 0, 2]);
        let sorted: BTreeMap<String, Vec<i64>> = map.into_iter().collect();
        assert_eq!(
            phonemes_to_ids(&strings(&["b"]), &sorted),
            vec![1, 0, 15, 0, 2]
        );
        let empty: HashMap<String, Vec<i64>> = HashMap::new();
        assert_eq!(phonemes_to_ids(&[], &empty), Vec::<i64>::new());
    }
}
