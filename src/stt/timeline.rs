//! What whisper hears of an upload, and where its times fall in the original audio.
//!
//! A [`Timeline`] is the audio to decode: the whole upload, or with voice activity detection
//! only its speech spans (padded, close spans merged with their pause kept) joined by a short
//! silence. It is decoded as whisper itself decodes a long file: one 30 s [`Window`] at a
//! time, each starting where the previous one's last complete segment ended ([`advance`]), so
//! no sentence is cut at a fixed mark. Each window is a turn of the scheduler, and every time
//! whisper reports in a window maps back to the original audio.

use super::{RawSegment, RawTranscript};

/// Samples per second of whisper's input.
pub const SAMPLE_RATE: usize = 16_000;
/// Samples per centisecond, whisper's unit of time.
const PER_CS: usize = SAMPLE_RATE / 100;
/// The most audio one window holds.
pub const MAX_WINDOW: usize = 30 * SAMPLE_RATE;
/// Less than this left on the timeline is not decoded (whisper.cpp stops there too).
const MIN_WINDOW: usize = SAMPLE_RATE / 10;
/// A window that would move the timeline on by less than this moves it a whole window, so
/// decoding always progresses.
const MIN_ADVANCE_CS: i64 = 100;
/// Speech spans are widened by this much on each side (as faster-whisper's VAD does): the
/// pause around a sentence tells whisper where it ends.
pub const SPEECH_PAD: usize = 2 * SAMPLE_RATE / 5;
/// Spans closer than this are merged, the pause between them kept as it was.
pub const MERGE_GAP: usize = 2 * SAMPLE_RATE;
/// Silence put between the pieces of the timeline.
pub const PIECE_GAP: usize = SAMPLE_RATE / 10;
/// The most context tokens carried to the next window: whisper's prompt holds no more (half its
/// 448-token text context).
pub const MAX_CONTEXT_TOKENS: usize = 223;

/// A range of samples of the original audio, `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }

    fn len(self) -> usize {
        self.end.saturating_sub(self.start)
    }
}

/// Which way a time that falls into the silence between two pieces is moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bias {
    /// To the start of the next piece (a segment or word starting there).
    Start,
    /// To the end of the previous piece (a segment or word ending there).
    End,
}

/// Pieces of the original audio played one after another with [`PIECE_GAP`] of silence
/// between them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    pieces: Vec<Span>,
    /// Where each piece begins on the timeline, in samples.
    starts: Vec<usize>,
    len: usize,
}

/// A stretch of the timeline decoded in one turn, `start..end` in timeline samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: usize,
    pub end: usize,
}

impl Window {
    pub fn len(self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(self) -> bool {
        self.end == self.start
    }
}

impl Timeline {
    fn new(pieces: Vec<Span>) -> Self {
        let pieces: Vec<Span> = pieces.into_iter().filter(|p| p.len() > 0).collect();
        let mut starts = Vec::with_capacity(pieces.len());
        let mut at = 0;
        for (index, piece) in pieces.iter().enumerate() {
            if index > 0 {
                at += PIECE_GAP;
            }
            starts.push(at);
            at += piece.len();
        }
        Self {
            pieces,
            starts,
            len: at,
        }
    }

    /// Samples on the timeline, gaps included.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn pieces(&self) -> &[Span] {
        &self.pieces
    }

    /// The window that starts at `seek`, or `None` when too little is left to decode.
    pub fn window_at(&self, seek: usize) -> Option<Window> {
        let end = (seek + MAX_WINDOW).min(self.len);
        (end >= seek + MIN_WINDOW).then_some(Window { start: seek, end })
    }

    /// The audio whisper gets for `window`.
    pub fn audio(&self, pcm: &[f32], window: Window) -> Vec<f32> {
        let mut out = vec![0.0; window.len()];
        for (piece, &at) in self.pieces.iter().zip(&self.starts) {
            let from = at.max(window.start);
            let to = (at + piece.len()).min(window.end);
            if from >= to {
                continue;
            }
            let source = piece.start + (from - at)..piece.start + (to - at);
            let source = source.start.min(pcm.len())..source.end.min(pcm.len());
            let target = from - window.start;
            out[target..target + source.len()].copy_from_slice(&pcm[source]);
        }
        out
    }

    /// Maps a time inside `window` (centiseconds from its start) to the original audio.
    /// Times outside the timeline are clamped to it.
    pub fn map_cs(&self, window: Window, local: i64, bias: Bias) -> i64 {
        let Some(first) = self.pieces.first() else {
            return 0;
        };
        let local = usize::try_from(local.max(0)).unwrap_or(0);
        let position = window.start + local.saturating_mul(PER_CS);
        for (index, (piece, &at)) in self.pieces.iter().zip(&self.starts).enumerate() {
            if position < at {
                // In the silence before this piece.
                return match bias {
                    Bias::Start => to_cs(piece.start),
                    Bias::End if index > 0 => to_cs(self.pieces[index - 1].end),
                    Bias::End => to_cs(first.start),
                };
            }
            if position <= at + piece.len() {
                return to_cs(piece.start + (position - at));
            }
        }
        to_cs(self.pieces.last().unwrap_or(first).end)
    }

    /// Whisper's segments of `window`, with every time (segment, token) on the original
    /// timeline and `seek` set to where the window began.
    pub fn map_segments(&self, window: Window, segments: Vec<RawSegment>) -> Vec<RawSegment> {
        let seek = self.map_cs(window, 0, Bias::Start);
        segments
            .into_iter()
            .map(|mut segment| {
                segment.seek = Some(seek);
                segment.t0 = self.map_cs(window, segment.t0, Bias::Start);
                segment.t1 = self.map_cs(window, segment.t1, Bias::End).max(segment.t0);
                for token in &mut segment.tokens {
                    token.t0 = self.map_cs(window, token.t0, Bias::Start);
                    token.t1 = self.map_cs(window, token.t1, Bias::End).max(token.t0);
                    token.aligned_at = token
                        .aligned_at
                        .map(|at| self.map_cs(window, at, Bias::Start));
                }
                segment
            })
            .collect()
    }
}

fn to_cs(samples: usize) -> i64 {
    i64::try_from(samples / PER_CS).unwrap_or(i64::MAX)
}

/// How far the timeline moves on after decoding `window` into `raw` (window-relative times),
/// in samples, as whisper decides it: to the end of the last complete segment when whisper
/// stopped there wanting to go on (the speech after it was cut off by the window's end),
/// otherwise the whole window.
pub fn advance(window: Window, raw: &RawTranscript) -> usize {
    let whole = window.len();
    if !raw.unfinished {
        return whole;
    }
    match raw.segments.last() {
        Some(last) if last.t1 >= MIN_ADVANCE_CS => {
            (usize::try_from(last.t1).unwrap_or(0) * PER_CS).min(whole)
        }
        _ => whole,
    }
}

/// The timeline of an upload of `total` samples. `speech` is the voice activity detector's
/// spans, or `None` to decode everything; no speech at all gives an empty timeline.
pub fn plan(total: usize, speech: Option<&[Span]>) -> Timeline {
    match speech {
        None => Timeline::new(vec![Span::new(0, total)]),
        Some(spans) => Timeline::new(pad_and_merge(spans, total)),
    }
}

/// Widens each span by [`SPEECH_PAD`], keeps it inside the audio, and merges spans that
/// overlap or lie less than [`MERGE_GAP`] apart. Empty spans are dropped.
pub fn pad_and_merge(spans: &[Span], total: usize) -> Vec<Span> {
    let mut sorted: Vec<Span> = spans
        .iter()
        .filter(|s| s.end > s.start && s.start < total)
        .map(|s| {
            Span::new(
                s.start.saturating_sub(SPEECH_PAD),
                (s.end + SPEECH_PAD).min(total),
            )
        })
        .collect();
    sorted.sort_by_key(|s| s.start);
    let mut merged: Vec<Span> = Vec::with_capacity(sorted.len());
    for span in sorted {
        match merged.last_mut() {
            Some(last) if span.start <= last.end + MERGE_GAP => last.end = last.end.max(span.end),
            _ => merged.push(span),
        }
    }
    merged
}

/// Appends a window's tokens to the context the next window is prompted with, as whisper does
/// between windows: text *and* timestamp tokens, so the next window keeps marking segment
/// boundaries (a prompt of bare text teaches the decoder to run a whole window as one segment).
/// Only the last [`MAX_CONTEXT_TOKENS`] are kept.
pub fn carry_context(context: &mut Vec<i32>, segments: &[RawSegment]) {
    let decoded = segments
        .iter()
        .flat_map(|s| &s.tokens)
        .filter(|t| !t.is_control)
        .map(|t| t.id);
    context.extend(decoded);
    let excess = context.len().saturating_sub(MAX_CONTEXT_TOKENS);
    context.drain(..excess);
}

#[cfg(test)]
#[path = "timeline_tests.rs"]
mod tests;
