//! Turns raw whisper output into OpenAI's transcript: segment fields, words, clamped times.

use std::io::Write;

use super::{RawSegment, RawToken, RawTranscript, TranscribeOptions, cues};

/// A finished transcription, in OpenAI's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    pub task: super::Task,
    /// Whisper language code (`de`).
    pub language: &'static str,
    /// Seconds of audio.
    pub duration: f64,
    pub text: String,
    pub segments: Vec<Segment>,
    pub words: Vec<Word>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub id: usize,
    /// Start of the 30 s window that produced this segment, in 10 ms frames.
    pub seek: i64,
    pub start: f64,
    pub end: f64,
    pub text: String,
    pub tokens: Vec<i32>,
    pub temperature: f32,
    pub avg_logprob: f64,
    pub compression_ratio: f64,
    pub no_speech_prob: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    pub word: String,
    pub start: f64,
    pub end: f64,
}

/// Builds the transcript for `duration` seconds of audio; every time is clamped to it.
pub fn build_transcript(
    raw: RawTranscript,
    options: &TranscribeOptions,
    duration: f64,
) -> Transcript {
    let clamp = |centiseconds: i64| (centiseconds as f64 / 100.0).clamp(0.0, duration);
    let mut segments = Vec::with_capacity(raw.segments.len());
    let mut words = Vec::new();
    let mut seek = 0;
    let pieces: Vec<RawSegment> = raw
        .segments
        .iter()
        .map(with_aligned_times)
        .flat_map(|segment| cues::split(&segment))
        .collect();
    for (id, raw_segment) in pieces.iter().enumerate() {
        seek = raw_segment
            .seek
            .or_else(|| window_start(raw_segment))
            .unwrap_or(seek);
        let coarse_start = clamp(raw_segment.t0);
        let coarse_end = clamp(raw_segment.t1).max(coarse_start);
        // Whisper's segment timestamps are coarse (often whole seconds, pauses included); the
        // words say where the speech really starts and ends, as OpenAI's whisper and
        // faster-whisper report it.
        let segment_words = words_of(&raw_segment.tokens, coarse_start, coarse_end, clamp);
        let (start, end) = match (segment_words.first(), segment_words.last()) {
            (Some(first), Some(last)) => (first.start, last.end.max(first.start)),
            _ => (coarse_start, coarse_end),
        };
        segments.push(Segment {
            id,
            seek,
            start,
            end,
            text: raw_segment.text.clone(),
            tokens: raw_segment
                .tokens
                .iter()
                .filter(|t| !t.is_control)
                .map(|t| t.id)
                .collect(),
            temperature: options.temperature,
            avg_logprob: average_logprob(&raw_segment.tokens),
            compression_ratio: compression_ratio(&raw_segment.text),
            no_speech_prob: f64::from(raw_segment.no_speech_prob),
        });
        if options.word_timestamps {
            words.extend(segment_words);
        }
    }
    let text = segments
        .iter()
        .map(|s| s.text.as_str())
        .collect::<String>()
        .trim()
        .to_string();
    Transcript {
        task: options.task,
        language: raw.language,
        duration,
        text,
        segments,
        words,
    }
}

/// Token durations taken as typical are capped at this (centiseconds), as OpenAI's whisper does.
const TYPICAL_TOKEN_CS: i64 = 70;

/// The segment with each text token's times taken from alignment, where the model has it.
/// whisper.cpp aligns a token where it ends, so a token runs from the end of the one before.
/// A word-initial token that would last more than twice the typical token (a pause before it
/// folded in) starts that long before its end, and punctuation that long ends that long after
/// its start, as OpenAI's whisper and faster-whisper trim words around a pause.
fn with_aligned_times(segment: &RawSegment) -> RawSegment {
    let mut segment = segment.clone();
    let text: Vec<usize> = (0..segment.tokens.len())
        .filter(|&i| {
            let token = &segment.tokens[i];
            !token.is_control && token.timestamp.is_none() && token.aligned_at.is_some()
        })
        .collect();
    let ends: Vec<i64> = text
        .iter()
        .map(|&i| {
            let at = segment.tokens[i].aligned_at.unwrap_or(segment.t1);
            at.clamp(segment.t0, segment.t1)
        })
        .collect();
    let Some(&first_end) = ends.first() else {
        return segment;
    };
    let mut durations: Vec<i64> = ends.windows(2).map(|pair| pair[1] - pair[0]).collect();
    durations.sort_unstable();
    let typical = durations
        .get(durations.len() / 2)
        .copied()
        .unwrap_or(TYPICAL_TOKEN_CS / 2)
        .clamp(1, TYPICAL_TOKEN_CS);
    let longest = 2 * typical;
    let mut previous_end = segment.t0.max(first_end - longest);
    for (&i, &end) in text.iter().zip(&ends) {
        let end = end.max(previous_end);
        let starts_word = segment.tokens[i].bytes.first() == Some(&b' ');
        let start = if starts_word && end - previous_end > longest {
            end - longest
        } else {
            previous_end
        };
        // Punctuation that would last as long ends early: the pause was after it.
        let punctuation = segment.tokens[i]
            .bytes
            .iter()
            .all(|b| b.is_ascii_punctuation());
        let end = if punctuation && end - start > longest {
            start + longest
        } else {
            end
        };
        segment.tokens[i].t0 = start;
        segment.tokens[i].t1 = end;
        previous_end = end;
    }
    // The alignment can pin a segment's first token to the window's start, far from the
    // words it opens: it then goes just before the next one.
    if let [first, second, ..] = text[..] {
        let next_start = segment.tokens[second].t0;
        if next_start - segment.tokens[first].t1 > longest {
            let duration = (segment.tokens[first].t1 - segment.tokens[first].t0).clamp(1, typical);
            segment.tokens[first].t1 = next_start;
            segment.tokens[first].t0 = next_start - duration;
        }
    }
    segment
}

/// whisper.cpp does not report a segment's window, but its timestamp tokens do: a segment that
/// opens with `<|t|>` at absolute time t0 began in the window at `t0 - t`, and one that closes
/// with `<|t|>` at t1 in the window at `t1 - t`.
pub(super) fn window_start(segment: &RawSegment) -> Option<i64> {
    let opening = segment.tokens.first().and_then(|t| t.timestamp);
    let closing = segment.tokens.last().and_then(|t| t.timestamp);
    let start = match (opening, closing) {
        (Some(relative), _) => segment.t0 - relative,
        (None, Some(relative)) => segment.t1 - relative,
        (None, None) => return None,
    };
    Some(start.max(0))
}

fn average_logprob(tokens: &[RawToken]) -> f64 {
    let scored: Vec<f64> = tokens
        .iter()
        .filter(|t| !t.is_control)
        .map(|t| f64::from(t.logprob))
        .collect();
    if scored.is_empty() {
        return 0.0;
    }
    scored.iter().sum::<f64>() / scored.len() as f64
}

/// Text bytes over zlib-compressed bytes, as OpenAI's whisper computes it: repetitive
/// (hallucinated) text compresses well and scores high.
pub fn compression_ratio(text: &str) -> f64 {
    if text.is_empty() {
        return 0.0;
    }
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let compressed = encoder
        .write_all(text.as_bytes())
        .and_then(|()| encoder.finish());
    match compressed {
        Ok(bytes) if !bytes.is_empty() => text.len() as f64 / bytes.len() as f64,
        _ => 0.0,
    }
}

/// Groups text tokens into words: a token that begins with a space starts a new word.
/// Punctuation is trimmed from the ends of a word, as OpenAI's `words` show it.
fn words_of(
    tokens: &[RawToken],
    segment_start: f64,
    segment_end: f64,
    clamp: impl Fn(i64) -> f64,
) -> Vec<Word> {
    let mut words: Vec<(Vec<u8>, f64, f64)> = Vec::new();
    // whisper.cpp's token times can run backwards (it reuses timestamp state across
    // segments), so every time is kept inside the segment and never before the last one.
    let mut floor = segment_start;
    for token in tokens
        .iter()
        .filter(|t| !t.is_control && t.timestamp.is_none())
    {
        let start = clamp(token.t0).clamp(floor, segment_end);
        let end = clamp(token.t1).clamp(start, segment_end);
        floor = end;
        let starts_word = token.bytes.first() == Some(&b' ');
        match words.last_mut() {
            Some((bytes, _, word_end)) if !starts_word => {
                bytes.extend_from_slice(&token.bytes);
                *word_end = end;
            }
            _ => words.push((token.bytes.clone(), start, end)),
        }
    }
    words
        .into_iter()
        .filter_map(|(bytes, start, end)| {
            let text = String::from_utf8_lossy(&bytes);
            let word = text
                .trim()
                .trim_matches(|c: char| {
                    c.is_ascii_punctuation() && c != '\'' || c == '¿' || c == '¡'
                })
                .trim();
            (!word.is_empty()).then(|| Word {
                word: word.to_string(),
                start,
                end,
            })
        })
        .collect()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::stt::Task;

    pub(in crate::stt) fn text_token(id: i32, text: &str, t0: i64, t1: i64) -> RawToken {
        RawToken {
            id,
            bytes: text.as_bytes().to_vec(),
            logprob: -0.5,
            t0,
            t1,
            is_control: false,
            timestamp: None,
            aligned_at: None,
        }
    }

    pub(in crate::stt) fn timestamp_token(id: i32, relative: i64, at: i64) -> RawToken {
        RawToken {
            timestamp: Some(relative),
            logprob: 0.0,
            ..text_token(id, "", at, at)
        }
    }

    pub(in crate::stt) fn window(offset: i64) -> RawSegment {
        RawSegment {
            t0: offset,
            t1: offset + 100,
            seek: None,
            text: " hallo welt.".into(),
            no_speech_prob: 0.25,
            tokens: vec![
                timestamp_token(50364, 0, offset),
                text_token(256, " hallo", offset, offset + 55),
                text_token(257, " welt", offset + 55, offset + 95),
                text_token(13, ".", offset + 95, offset + 100),
                timestamp_token(50414, 100, offset + 100),
            ],
        }
    }

    fn options(words: bool) -> TranscribeOptions {
        TranscribeOptions {
            word_timestamps: words,
            ..TranscribeOptions::default()
        }
    }

    #[test]
    fn segments_carry_every_openai_field() {
        let raw = RawTranscript {
            language: "de",
            segments: vec![window(0), window(3000)],
            unfinished: false,
        };
        let transcript = build_transcript(raw, &options(false), 65.0);
        assert_eq!(transcript.text, "hallo welt. hallo welt.");
        assert_eq!(transcript.segments.len(), 2);
        let second = &transcript.segments[1];
        assert_eq!((second.id, second.seek), (1, 3000));
        assert_eq!((second.start, second.end), (30.0, 31.0));
        assert_eq!(second.tokens, vec![50364, 256, 257, 13, 50414]);
        assert!((second.avg_logprob - (-0.3)).abs() < 1e-9);
        assert_eq!(second.no_speech_prob, 0.25);
        assert!(second.compression_ratio > 0.0);
        assert!(transcript.words.is_empty());
    }

    #[test]
    fn seek_comes_from_the_closing_timestamp_when_there_is_no_opening_one() {
        let mut translated = window(3000);
        translated.t0 = 3002;
        translated.tokens.remove(0);
        let raw = RawTranscript {
            language: "de",
            segments: vec![window(0), translated],
            unfinished: false,
        };
        let transcript = build_transcript(raw, &options(false), 65.0);
        assert_eq!(transcript.segments[1].seek, 3000);
        assert_eq!(transcript.segments[1].start, 30.02);
    }

    #[test]
    fn words_are_grouped_trimmed_and_clamped() {
        let raw = RawTranscript {
            language: "de",
            segments: vec![window(0)],
            unfinished: false,
        };
        let transcript = build_transcript(raw, &options(true), 0.8);
        let words: Vec<_> = transcript
            .words
            .iter()
            .map(|w| (w.word.as_str(), w.start, w.end))
            .collect();
        assert_eq!(words, vec![("hallo", 0.0, 0.55), ("welt", 0.55, 0.8)]);
        assert_eq!(transcript.segments[0].end, 0.8);
        assert_eq!(transcript.task, Task::Transcribe);
    }

    #[test]
    fn subword_tokens_join_into_one_word() {
        let tokens = vec![
            text_token(1, " Wort", 0, 10),
            text_token(2, "schatz", 10, 30),
            text_token(3, " ist", 30, 40),
        ];
        let words = words_of(&tokens, 0.0, 1.0, |cs| cs as f64 / 100.0);
        assert_eq!(words[0].word, "Wortschatz");
        assert_eq!((words[0].start, words[0].end), (0.0, 0.3));
        assert_eq!(words[1].word, "ist");
    }

    #[test]
    fn backwards_token_times_stay_ordered() {
        let tokens = vec![
            text_token(1, " hello", 3002, 1600),
            text_token(2, " world", 3050, 3100),
        ];
        let words = words_of(&tokens, 30.02, 31.0, |cs| cs as f64 / 100.0);
        assert_eq!((words[0].start, words[0].end), (30.02, 30.02));
        assert_eq!((words[1].start, words[1].end), (30.5, 31.0));
    }

    #[test]
    fn repetitive_text_compresses_well() {
        let varied = compression_ratio(" The quick brown fox jumps over the lazy dog.");
        let repeated = compression_ratio(&" thank you".repeat(40));
        assert!(repeated > 2.4 && varied < 2.0, "{repeated} {varied}");
        assert_eq!(compression_ratio(""), 0.0);
    }

    #[test]
    fn aligned_times_run_from_each_token_to_the_next() {
        let mut segment = window(0);
        // Aligned where each token ends: " hallo" at 0.30 s, " welt" at 0.60, "." at 0.65.
        for (index, at) in [(1, 30), (2, 60), (3, 65)] {
            segment.tokens[index].aligned_at = Some(at);
        }
        let aligned = with_aligned_times(&segment);
        let times: Vec<(i64, i64)> = aligned.tokens[1..4].iter().map(|t| (t.t0, t.t1)).collect();
        // The first token starts twice the typical token (here 0.30 s) before its end, at most.
        assert_eq!(times, [(0, 30), (30, 60), (60, 65)]);
        // After a pause, a word starts twice the typical token before its end.
        let mut paused = window(0);
        for (index, at) in [(1, 30), (2, 35), (3, 40), (4, 95)] {
            paused.tokens[index].aligned_at = Some(at);
        }
        paused.tokens[4] = text_token(258, " ja", 0, 0);
        paused.tokens[4].aligned_at = Some(95);
        paused.tokens.push(timestamp_token(50414, 100, 100));
        let aligned = with_aligned_times(&paused);
        let times: Vec<(i64, i64)> = aligned.tokens[1..5].iter().map(|t| (t.t0, t.t1)).collect();
        assert_eq!(times, [(20, 30), (30, 35), (35, 40), (85, 95)]);
        // Without alignment the tokens keep whisper.cpp's own times.
        assert_eq!(with_aligned_times(&window(0)), window(0));
    }
}
