//! A transcript in each of OpenAI's response formats: json, text, srt, vtt and verbose_json.

use serde::Serialize;

use super::{Segment, Task, Transcript, Word};

/// `response_format` of the transcription and translation endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFormat {
    Json,
    Text,
    Srt,
    Vtt,
    VerboseJson,
}

impl ResponseFormat {
    pub const NAMES: &[&str] = &["json", "text", "srt", "verbose_json", "vtt"];

    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "json" => Self::Json,
            "text" => Self::Text,
            "srt" => Self::Srt,
            "vtt" => Self::Vtt,
            "verbose_json" => Self::VerboseJson,
            _ => return None,
        })
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json | Self::VerboseJson => "application/json",
            Self::Text | Self::Srt => "text/plain; charset=utf-8",
            Self::Vtt => "text/vtt; charset=utf-8",
        }
    }
}

/// Which timestamp lists verbose_json carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granularities {
    pub segment: bool,
    pub word: bool,
}

impl Default for Granularities {
    /// OpenAI's default is segments only.
    fn default() -> Self {
        Self {
            segment: true,
            word: false,
        }
    }
}

/// The body of a response in `format`.
pub fn render(
    transcript: &Transcript,
    format: ResponseFormat,
    granularities: Granularities,
) -> String {
    match format {
        ResponseFormat::Json => json(transcript),
        ResponseFormat::Text => format!("{}\n", transcript.text),
        ResponseFormat::Srt => srt(transcript),
        ResponseFormat::Vtt => vtt(transcript),
        ResponseFormat::VerboseJson => verbose_json(transcript, granularities),
    }
}

#[derive(Serialize)]
struct Usage {
    #[serde(rename = "type")]
    kind: &'static str,
    seconds: u64,
}

fn usage(transcript: &Transcript) -> Option<Usage> {
    // Translations carry no usage in OpenAI's schema.
    (transcript.task == Task::Transcribe).then(|| Usage {
        kind: "duration",
        seconds: transcript.duration.ceil() as u64,
    })
}

fn json(transcript: &Transcript) -> String {
    #[derive(Serialize)]
    struct Json<'a> {
        text: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        usage: Option<Usage>,
    }
    to_json(&Json {
        text: &transcript.text,
        usage: usage(transcript),
    })
}

fn verbose_json(transcript: &Transcript, granularities: Granularities) -> String {
    #[derive(Serialize)]
    struct Verbose<'a> {
        task: &'static str,
        language: &'static str,
        duration: f64,
        text: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        words: Option<&'a [Word]>,
        #[serde(skip_serializing_if = "Option::is_none")]
        segments: Option<&'a [Segment]>,
        #[serde(skip_serializing_if = "Option::is_none")]
        usage: Option<Usage>,
    }
    let language = match transcript.task {
        Task::Translate => "english",
        Task::Transcribe => super::language_name(transcript.language),
    };
    to_json(&Verbose {
        task: transcript.task.as_str(),
        language,
        duration: transcript.duration,
        text: &transcript.text,
        words: granularities.word.then_some(transcript.words.as_slice()),
        segments: granularities
            .segment
            .then_some(transcript.segments.as_slice()),
        usage: usage(transcript),
    })
}

fn to_json(value: &impl Serialize) -> String {
    // Serializing plain structs of strings and finite numbers cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

impl Serialize for Segment {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Segment", 10)?;
        s.serialize_field("id", &self.id)?;
        s.serialize_field("seek", &self.seek)?;
        s.serialize_field("start", &self.start)?;
        s.serialize_field("end", &self.end)?;
        s.serialize_field("text", &self.text)?;
        s.serialize_field("tokens", &self.tokens)?;
        s.serialize_field("temperature", &self.temperature)?;
        s.serialize_field("avg_logprob", &finite(self.avg_logprob))?;
        s.serialize_field("compression_ratio", &finite(self.compression_ratio))?;
        s.serialize_field("no_speech_prob", &finite(self.no_speech_prob))?;
        s.end()
    }
}

impl Serialize for Word {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Word", 3)?;
        s.serialize_field("word", &self.word)?;
        s.serialize_field("start", &self.start)?;
        s.serialize_field("end", &self.end)?;
        s.end()
    }
}

/// JSON has no NaN; a degenerate score is reported as 0.
fn finite(value: f64) -> f64 {
    if value.is_finite() { value } else { 0.0 }
}

/// The shortest time a subtitle cue stays on screen, as broadcast guidelines ask (about 20
/// frames): a one-word segment can be spoken in a tenth of a second but not read in one.
const MIN_CUE_SECONDS: f64 = 0.8;

/// Each segment's cue times: its own, with a cue shorter than [`MIN_CUE_SECONDS`] held on
/// screen longer, into the silence after it and then into the silence before it, as subtitle
/// editors do; never over a neighbouring cue, before 0 or past the audio.
fn cue_times(transcript: &Transcript) -> Vec<(f64, f64)> {
    let segments = &transcript.segments;
    let mut cues: Vec<(f64, f64)> = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        let next_start = segments
            .get(i + 1)
            .map_or(transcript.duration, |next| next.start);
        let previous_end = cues.last().map_or(0.0, |&(_, end)| end);
        let end = segment
            .end
            .max((segment.start + MIN_CUE_SECONDS).min(next_start));
        let start = segment.start.min((end - MIN_CUE_SECONDS).max(previous_end));
        cues.push((start, end));
    }
    cues
}

fn srt(transcript: &Transcript) -> String {
    let mut out = String::new();
    let cues = transcript.segments.iter().zip(cue_times(transcript));
    for (index, (segment, (start, end))) in cues.enumerate() {
        out.push_str(&format!(
            "{}\n{} --> {}\n{}\n\n",
            index + 1,
            timestamp(start, ','),
            timestamp(end, ','),
            cue_text(&segment.text)
        ));
    }
    out
}

fn vtt(transcript: &Transcript) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for (segment, (start, end)) in transcript.segments.iter().zip(cue_times(transcript)) {
        out.push_str(&format!(
            "{} --> {}\n{}\n\n",
            timestamp(start, '.'),
            timestamp(end, '.'),
            cue_text(&segment.text)
        ));
    }
    out
}

/// A cue's text may not contain the `-->` separator or a blank line, which would end the cue.
fn cue_text(text: &str) -> String {
    let text = text.trim().replace("-->", "->");
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `HH:MM:SS,mmm` (SRT) or `HH:MM:SS.mmm` (WebVTT).
fn timestamp(seconds: f64, separator: char) -> String {
    let total_ms = (seconds.max(0.0) * 1000.0).round() as u64;
    let (hours, rest) = (total_ms / 3_600_000, total_ms % 3_600_000);
    let (minutes, rest) = (rest / 60_000, rest % 60_000);
    let (secs, millis) = (rest / 1000, rest % 1000);
    format!("{hours:02}:{minutes:02}:{secs:02}{separator}{millis:03}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(id: usize, start: f64, end: f64, text: &str) -> Segment {
        Segment {
            id,
            seek: (start * 100.0) as i64,
            start,
            end,
            text: text.into(),
            tokens: vec![50364, 256, 257, 50414],
            temperature: 0.0,
            avg_logprob: -0.25,
            compression_ratio: 1.5,
            no_speech_prob: 0.01,
        }
    }

    fn transcript(task: Task) -> Transcript {
        Transcript {
            task,
            language: "de",
            duration: 31.5,
            text: "hallo welt hallo welt".into(),
            segments: vec![
                segment(0, 0.0, 1.0, " hallo welt"),
                segment(1, 30.0, 31.0, " hallo welt"),
            ],
            words: vec![Word {
                word: "hallo".into(),
                start: 0.0,
                end: 0.55,
            }],
        }
    }

    #[test]
    fn timestamps_cross_hour_minute_and_millisecond_boundaries() {
        assert_eq!(timestamp(0.0, ','), "00:00:00,000");
        assert_eq!(timestamp(59.9995, ','), "00:01:00,000");
        assert_eq!(timestamp(3661.042, '.'), "01:01:01.042");
        assert_eq!(timestamp(36000.0, '.'), "10:00:00.000");
        assert_eq!(timestamp(-1.0, '.'), "00:00:00.000");
    }

    #[test]
    fn text_formats_are_plain_text() {
        let t = transcript(Task::Transcribe);
        let none = Granularities::default();
        assert_eq!(
            render(&t, ResponseFormat::Text, none),
            "hallo welt hallo welt\n"
        );
        assert_eq!(
            render(&t, ResponseFormat::Srt, none),
            "1\n00:00:00,000 --> 00:00:01,000\nhallo welt\n\n2\n00:00:30,000 --> 00:00:31,000\nhallo welt\n\n"
        );
        assert_eq!(
            render(&t, ResponseFormat::Vtt, none),
            "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nhallo welt\n\n00:00:30.000 --> 00:00:31.000\nhallo welt\n\n"
        );
    }

    #[test]
    fn short_cues_stay_on_screen_long_enough_to_read() {
        let mut t = transcript(Task::Transcribe);
        t.segments = vec![
            segment(0, 1.0, 1.16, " Five."),
            segment(1, 1.5, 1.7, " Six."),
            segment(2, 2.4, 2.6, " Seven."),
            segment(3, 31.2, 31.3, " Eight."),
        ];
        // Held to 0.8 s after the start, then before it, never over a neighbour or past the
        // audio's 31.5 s.
        assert_eq!(
            cue_times(&t),
            [(0.7, 1.5), (1.5, 2.3), (2.4, 3.2), (30.7, 31.5)]
        );
        assert!(
            render(&t, ResponseFormat::Srt, Granularities::default())
                .starts_with("1\n00:00:00,700 --> 00:00:01,500\nFive.\n")
        );
    }

    #[test]
    fn cue_text_cannot_break_the_cue() {
        assert_eq!(cue_text(" a --> b\n\n c "), "a -> b\nc");
    }

    #[test]
    fn json_carries_text_and_duration_usage() {
        let body = render(
            &transcript(Task::Transcribe),
            ResponseFormat::Json,
            Granularities::default(),
        );
        assert_eq!(
            body,
            r#"{"text":"hallo welt hallo welt","usage":{"type":"duration","seconds":32}}"#
        );
        let body = render(
            &transcript(Task::Translate),
            ResponseFormat::Json,
            Granularities::default(),
        );
        assert_eq!(body, r#"{"text":"hallo welt hallo welt"}"#);
    }

    #[test]
    fn verbose_json_follows_the_requested_granularities() {
        let t = transcript(Task::Transcribe);
        let value = |g| {
            serde_json::from_str::<serde_json::Value>(&render(&t, ResponseFormat::VerboseJson, g))
                .unwrap()
        };
        let segments_only = value(Granularities::default());
        assert_eq!(segments_only["task"], "transcribe");
        assert_eq!(segments_only["language"], "german");
        assert_eq!(segments_only["duration"], 31.5);
        assert!(segments_only.get("words").is_none());
        let first = &segments_only["segments"][0];
        for key in [
            "id",
            "seek",
            "start",
            "end",
            "text",
            "tokens",
            "temperature",
            "avg_logprob",
            "compression_ratio",
            "no_speech_prob",
        ] {
            assert!(first.get(key).is_some(), "segment lacks {key}");
        }
        let words_only = value(Granularities {
            segment: false,
            word: true,
        });
        assert!(words_only.get("segments").is_none());
        assert_eq!(words_only["words"][0]["word"], "hallo");
        assert_eq!(words_only["words"][0]["end"], 0.55);
        let translated = serde_json::from_str::<serde_json::Value>(&render(
            &transcript(Task::Translate),
            ResponseFormat::VerboseJson,
            Granularities::default(),
        ))
        .unwrap();
        assert_eq!(translated["task"], "translate");
        assert_eq!(translated["language"], "english");
    }
}
