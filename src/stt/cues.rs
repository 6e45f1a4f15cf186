//! Where segments end. How long whisper's own segments run depends on the decoder as much as
//! on the weights (the same model gives clause-sized segments in one decoder and 8 s ones in
//! another), and every segment is a subtitle cue too. So segments are cut to what a reader can
//! follow: where a sentence ends and the speaker pauses, and at a clause or a pause when a
//! segment would not fit two subtitle lines.

use super::{RawSegment, RawToken};

/// A pause this long (in centiseconds) after a sentence ends a segment.
const SENTENCE_PAUSE_CS: i64 = 30;
/// A silence this long (centiseconds) between two words ends a segment, sentence or not: a
/// subtitle cue should not stay on screen across it.
const SILENCE_CS: i64 = 100;
/// A segment longer than this (centiseconds) is split at every sentence end, pause or not:
/// a subtitle cue much longer cannot be read along.
const LONG_SEGMENT_CS: i64 = 600;
/// Two lines of 42 characters: the usual limit for one subtitle cue in broadcast guidelines.
const MAX_CUE_CHARS: usize = 84;
/// A cut for length leaves at least this many words on either side.
const MIN_CUE_WORDS: usize = 3;
/// A gap this long (centiseconds) between two words is a pause worth cutting at.
const PHRASE_PAUSE_CS: i64 = 15;

/// The segment cut at sentence ends with pauses, then each piece cut to cue length.
pub(super) fn split(segment: &RawSegment) -> Vec<RawSegment> {
    split_at_pauses(segment)
        .iter()
        .flat_map(split_to_cue_length)
        .collect()
}

fn is_text(token: &RawToken) -> bool {
    !token.is_control && token.timestamp.is_none()
}

fn starts_word(token: &RawToken) -> bool {
    token.bytes.first() == Some(&b' ')
}

/// The token's text without trailing spaces and closing quotes or brackets.
fn without_closers(token: &RawToken) -> &[u8] {
    let mut bytes = token.bytes.trim_ascii_end();
    while let Some((last, rest)) = bytes.split_last() {
        if !matches!(last, b'"' | b'\'' | b')' | b']') {
            break;
        }
        bytes = rest;
    }
    bytes
}

fn ends_sentence(token: &RawToken) -> bool {
    matches!(without_closers(token).last(), Some(b'.' | b'?' | b'!'))
}

fn ends_clause(token: &RawToken) -> bool {
    let bytes = without_closers(token);
    matches!(bytes.last(), Some(b',' | b';' | b':')) || bytes.ends_with("—".as_bytes())
}

/// Splits where a sentence ends and the speaker pauses (or at every sentence end when the
/// segment is long), and wherever the speaker falls silent: whisper often runs several
/// sentences, even several utterances, into one segment.
/// Token times say where the pauses are; a segment without them stays whole.
fn split_at_pauses(segment: &RawSegment) -> Vec<RawSegment> {
    let text_tokens: Vec<usize> = (0..segment.tokens.len())
        .filter(|&i| is_text(&segment.tokens[i]))
        .collect();
    let spoken_cs = match (text_tokens.first(), text_tokens.last()) {
        (Some(&first), Some(&last)) => segment.tokens[last].t1 - segment.tokens[first].t0,
        _ => 0,
    };
    let long = spoken_cs > LONG_SEGMENT_CS;
    let cuts: Vec<usize> = text_tokens
        .windows(2)
        .filter(|pair| {
            let (before, next) = (&segment.tokens[pair[0]], &segment.tokens[pair[1]]);
            let pause = next.t0 - before.t1;
            starts_word(next)
                && (pause >= SILENCE_CS
                    || ends_sentence(before) && (long || pause >= SENTENCE_PAUSE_CS))
        })
        .map(|pair| pair[1])
        .collect();
    cut_at(segment, &cuts)
}

/// Halves a segment longer than [`MAX_CUE_CHARS`] at its best word boundary, again and again
/// until every piece fits: in its middle half, a clause end before a pause is best, then a
/// clause end, then a pause, then the boundary nearest the middle. Scripts written without
/// spaces have no word boundaries to cut at and stay whole.
fn split_to_cue_length(segment: &RawSegment) -> Vec<RawSegment> {
    let spoken: Vec<usize> = (0..segment.tokens.len())
        .filter(|&i| is_text(&segment.tokens[i]))
        .collect();
    let chars = |range: &[usize]| {
        let bytes: Vec<u8> = range
            .iter()
            .flat_map(|&i| segment.tokens[i].bytes.iter().copied())
            .collect();
        String::from_utf8_lossy(&bytes).trim().chars().count()
    };
    let total = chars(&spoken);
    if total <= MAX_CUE_CHARS {
        return vec![segment.clone()];
    }
    let word_starts: Vec<usize> = (1..spoken.len())
        .filter(|&p| starts_word(&segment.tokens[spoken[p]]))
        .collect();
    let words = word_starts.len() + 1;
    let mut best: Option<((bool, bool, bool), f64, usize)> = None;
    for (before_count, &p) in word_starts.iter().enumerate() {
        let words_before = before_count + 1;
        if words_before < MIN_CUE_WORDS || words - words_before < MIN_CUE_WORDS {
            continue;
        }
        let (before, next) = (&segment.tokens[spoken[p - 1]], &segment.tokens[spoken[p]]);
        let share = chars(&spoken[..p]) as f64 / total as f64;
        let middle = (0.25..=0.75).contains(&share);
        let rank = (
            middle,
            middle && ends_clause(before),
            middle && next.t0 - before.t1 >= PHRASE_PAUSE_CS,
        );
        let off_centre = (share - 0.5).abs();
        let better = match best {
            None => true,
            Some((best_rank, best_off, _)) => {
                rank > best_rank || (rank == best_rank && off_centre < best_off)
            }
        };
        if better {
            best = Some((rank, off_centre, spoken[p]));
        }
    }
    match best {
        Some((_, _, cut)) => cut_at(segment, &[cut])
            .iter()
            .flat_map(split_to_cue_length)
            .collect(),
        None => vec![segment.clone()],
    }
}

/// The segment cut before each token index in `cuts` (ascending). Each piece keeps the
/// segment's outer times at its outer ends and its own tokens' times at the cuts.
fn cut_at(segment: &RawSegment, cuts: &[usize]) -> Vec<RawSegment> {
    if cuts.is_empty() {
        return vec![segment.clone()];
    }
    let mut bounds = vec![0];
    bounds.extend(cuts);
    bounds.push(segment.tokens.len());
    bounds
        .windows(2)
        .map(|range| {
            let tokens = segment.tokens[range[0]..range[1]].to_vec();
            let spoken = || tokens.iter().filter(|t| is_text(t));
            let text_bytes: Vec<u8> = spoken().flat_map(|t| t.bytes.iter().copied()).collect();
            RawSegment {
                t0: if range[0] == 0 {
                    segment.t0
                } else {
                    spoken().next().map_or(segment.t0, |t| t.t0)
                },
                t1: if range[1] == segment.tokens.len() {
                    segment.t1
                } else {
                    spoken().next_back().map_or(segment.t1, |t| t.t1)
                },
                seek: segment.seek,
                text: String::from_utf8_lossy(&text_bytes).into_owned(),
                no_speech_prob: segment.no_speech_prob,
                tokens,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stt::transcript::tests::{text_token, timestamp_token, window};

    #[test]
    fn a_segment_is_split_where_a_sentence_ends_in_a_pause() {
        let segment = RawSegment {
            t0: 0,
            t1: 500,
            seek: None,
            text: " One. Two. Three".into(),
            no_speech_prob: 0.1,
            tokens: vec![
                timestamp_token(50364, 0, 0),
                text_token(1, " One", 0, 50),
                text_token(2, ".", 50, 60),
                text_token(3, " Two", 70, 120),
                text_token(4, ".", 120, 130),
                text_token(5, " Three", 300, 400),
                timestamp_token(50614, 500, 500),
            ],
        };
        // 0.1 s after "One." is no pause; 1.7 s after "Two." is.
        let pieces = split_at_pauses(&segment);
        let found: Vec<(i64, i64, &str)> = pieces
            .iter()
            .map(|p| (p.t0, p.t1, p.text.as_str()))
            .collect();
        assert_eq!(found, [(0, 130, " One. Two."), (300, 500, " Three")]);
        assert_eq!(pieces[0].tokens.len() + pieces[1].tokens.len(), 7);
        // No pause, no split.
        assert_eq!(split_at_pauses(&window(0)), vec![window(0)]);
        // A silence splits mid-sentence too.
        let silent = spoken(&["young", "man", "go", "forward"], &[(2, 100)]);
        assert_eq!(
            texts(&split_at_pauses(&silent)),
            ["young man", "go forward"]
        );
        let short = spoken(&["young", "man", "go", "forward"], &[(2, 99)]);
        assert_eq!(texts(&split_at_pauses(&short)), ["young man go forward"]);
    }

    #[test]
    fn a_long_segment_is_split_at_every_sentence_end() {
        let tokens = vec![
            timestamp_token(50364, 0, 0),
            text_token(1, " \"Go", 0, 100),
            text_token(2, ".\"", 100, 110),
            text_token(3, " Five", 110, 400),
            text_token(4, ".", 400, 410),
            text_token(5, " Five", 410, 700),
            timestamp_token(50714, 700, 700),
        ];
        let segment = RawSegment {
            t0: 0,
            t1: 700,
            seek: None,
            text: " \"Go.\" Five. Five".into(),
            no_speech_prob: 0.1,
            tokens,
        };
        let texts: Vec<String> = split_at_pauses(&segment)
            .into_iter()
            .map(|p| p.text)
            .collect();
        assert_eq!(texts, [" \"Go.\"", " Five.", " Five"]);
    }

    /// A segment of one token per word, each 30 cs long, with `pauses` (centiseconds) added
    /// before the word at each given index.
    fn spoken(words: &[&str], pauses: &[(usize, i64)]) -> RawSegment {
        let mut at = 0;
        let mut tokens = vec![timestamp_token(50364, 0, 0)];
        for (i, word) in words.iter().enumerate() {
            at += pauses.iter().find(|(n, _)| *n == i).map_or(0, |(_, p)| *p);
            tokens.push(text_token(i as i32, &format!(" {word}"), at, at + 30));
            at += 30;
        }
        tokens.push(timestamp_token(50364 + at as i32 / 2, at, at));
        RawSegment {
            t0: 0,
            t1: at,
            seek: None,
            text: words.iter().map(|w| format!(" {w}")).collect(),
            no_speech_prob: 0.1,
            tokens,
        }
    }

    fn texts(pieces: &[RawSegment]) -> Vec<&str> {
        pieces.iter().map(|p| p.text.trim()).collect()
    }

    const CLAUSES: &str = "For example, if you distribute copies of such a program, whether gratis or \
                           for a fee, you must pass on the same freedoms";

    #[test]
    fn a_segment_over_two_lines_is_cut_after_the_clause_nearest_its_middle() {
        let words: Vec<&str> = CLAUSES.split_whitespace().collect();
        let pieces = split_to_cue_length(&spoken(&words, &[]));
        assert_eq!(
            texts(&pieces),
            [
                "For example, if you distribute copies of such a program,",
                "whether gratis or for a fee, you must pass on the same freedoms",
            ]
        );
        // The cut falls between the words' own times; the outer times stay the segment's.
        assert_eq!((pieces[0].t0, pieces[0].t1), (0, 300));
        assert_eq!((pieces[1].t0, pieces[1].t1), (300, 690));
        let tokens: usize = pieces.iter().map(|p| p.tokens.len()).sum();
        assert_eq!(tokens, words.len() + 2);
    }

    #[test]
    fn without_a_clause_the_cut_goes_to_a_pause_then_to_the_middle() {
        let text = "This is fundamentally incompatible with the aim of protecting users' freedom \
                    to change the software";
        let words: Vec<&str> = text.split_whitespace().collect();
        let middle = split_to_cue_length(&spoken(&words, &[]));
        assert_eq!(
            texts(&middle),
            [
                "This is fundamentally incompatible with the aim of",
                "protecting users' freedom to change the software",
            ]
        );
        let paused = split_to_cue_length(&spoken(&words, &[(4, 20)]));
        assert_eq!(
            texts(&paused),
            [
                "This is fundamentally incompatible",
                "with the aim of protecting users' freedom to change the software",
            ]
        );
    }

    #[test]
    fn every_piece_of_a_very_long_segment_fits_a_cue() {
        let long = format!("{CLAUSES}, {CLAUSES}, {CLAUSES}");
        let words: Vec<&str> = long.split_whitespace().collect();
        let pieces = split_to_cue_length(&spoken(&words, &[]));
        assert!(pieces.len() >= 3, "{:?}", texts(&pieces));
        assert!(
            pieces
                .iter()
                .all(|p| p.text.trim().chars().count() <= MAX_CUE_CHARS)
        );
        assert_eq!(texts(&pieces).join(" "), long);
    }

    #[test]
    fn short_segments_and_scripts_without_spaces_stay_whole() {
        assert_eq!(split_to_cue_length(&window(0)), vec![window(0)]);
        let unspaced = RawSegment {
            tokens: vec![text_token(1, &"語".repeat(100), 0, 500)],
            ..window(0)
        };
        assert_eq!(split_to_cue_length(&unspaced), vec![unspaced.clone()]);
    }
}
