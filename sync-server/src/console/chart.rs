//! Charts of the console, drawn on the server as inline SVG with plotters (its SVG backend only: no bitmap,
//! no font files; the browser sets the text in the page's own fonts). Every chart is a picture of figures the
//! page also shows in a table beside it: it carries a `<title>` and an `aria-label` naming what it shows, and
//! each bar its number, so nothing is said by colour alone.

use plotters::coord::ranged1d::{IntoSegmentedCoord, SegmentValue};
use plotters::prelude::*;

use crate::error::{Result, ServerError};

/// Width of every chart, in CSS pixels (two fit side by side at 1366 pixels).
const WIDTH: u32 = 600;
/// Height of one bar's row.
const ROW: u32 = 30;
/// Most bars drawn: a longer list shows in its table only.
pub const MAX_BARS: usize = 60;

/// One bar: its label and value.
pub struct Bar {
    /// The label on the axis (a grid code, a stage's name, a user).
    pub label: String,
    /// The value.
    pub value: f64,
    /// The value as written at the end of the bar ("85.0%", "12").
    pub text: String,
}

/// How the value axis is labelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// Rates from 0 to 1, labelled as percentages.
    Percent,
    /// Counts, labelled as whole numbers.
    Count,
    /// Quantities with fractions (hours), labelled with one decimal.
    Decimal,
}

/// A horizontal bar chart.
pub struct BarChart<'a> {
    /// What the chart shows (its title and accessible name).
    pub title: &'a str,
    /// The bars, top to bottom.
    pub bars: Vec<Bar>,
    /// The axis maximum (at least the largest value).
    pub max: f64,
    /// A target line across the bars (e.g. the monthly home-visit target), if any.
    pub target: Option<f64>,
    /// How the value axis is labelled.
    pub axis: Axis,
}

fn failed(e: impl std::fmt::Display) -> ServerError {
    ServerError::internal(format!("chart: {e}"))
}

impl BarChart<'_> {
    /// The chart as an inline `<svg>` element.
    pub fn svg(&self) -> Result<String> {
        let bars = &self.bars[..self.bars.len().min(MAX_BARS)];
        let n = bars.len().max(1);
        let height = 48 + ROW * n as u32;
        let largest = bars.iter().map(|b| b.value).chain(self.target).fold(0.0_f64, f64::max);
        let max = if self.max > largest { self.max } else { (largest * 1.15).max(1.0) };
        let label_width = bars.iter().map(|b| b.label.chars().count()).max().unwrap_or(4).clamp(4, 16) as u32 * 9 + 12;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
            root.fill(&WHITE).map_err(failed)?;
            let mut chart = ChartBuilder::on(&root)
                .margin(8)
                .margin_right(120)
                .x_label_area_size(24)
                .y_label_area_size(label_width)
                .build_cartesian_2d(0.0..max, (0..n).into_segmented())
                .map_err(failed)?;
            let labels: Vec<String> = bars.iter().map(|b| b.label.chars().take(16).collect()).collect();
            // The axis counts upwards; the first bar goes on top, as the first row of the table beside it.
            let slot = |i: usize| n - 1 - i;
            let label_of = |v: &SegmentValue<usize>| match v {
                SegmentValue::CenterOf(i) if *i < n => labels.get(slot(*i)).cloned().unwrap_or_default(),
                _ => String::new(),
            };
            let axis = self.axis;
            let value_of = move |v: &f64| match axis {
                Axis::Percent => format!("{:.0}%", v * 100.0),
                Axis::Count if v.fract() == 0.0 => format!("{v:.0}"),
                Axis::Count => String::new(),
                Axis::Decimal => format!("{v:.1}"),
            };
            chart
                .configure_mesh()
                .disable_y_mesh()
                .y_labels(n)
                .y_label_formatter(&label_of)
                .x_label_formatter(&value_of)
                .x_labels(6)
                .label_style(("sans-serif", 13))
                .draw()
                .map_err(failed)?;
            let fill = RGBColor(11, 87, 208);
            chart
                .draw_series(bars.iter().enumerate().map(|(i, b)| {
                    let mut r = Rectangle::new(
                        [(0.0, SegmentValue::Exact(slot(i))), (b.value.max(0.0), SegmentValue::Exact(slot(i) + 1))],
                        fill.filled(),
                    );
                    r.set_margin(5, 5, 0, 0);
                    r
                }))
                .map_err(failed)?;
            chart
                .draw_series(bars.iter().enumerate().map(|(i, b)| {
                    Text::new(
                        format!(" {}", b.text),
                        (b.value.max(0.0), SegmentValue::CenterOf(slot(i))),
                        ("sans-serif", 13).into_font().color(&BLACK),
                    )
                }))
                .map_err(failed)?;
            if let Some(target) = self.target {
                let red = RGBColor(179, 38, 30);
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(target, SegmentValue::Exact(0)), (target, SegmentValue::Exact(n))],
                        red.stroke_width(2),
                    )))
                    .map_err(failed)?;
            }
            root.present().map_err(failed)?;
        }
        Ok(accessible(&svg, self.title))
    }
}

/// Escapes text for HTML and SVG.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Gives the root `<svg>` its accessible name (`role="img"`, `aria-label`, a `<title>`) and lets it shrink
/// with the page.
pub fn accessible(svg: &str, title: &str) -> String {
    let title = escape(title);
    let Some(open) = svg.find("<svg") else { return String::new() };
    let Some(end) = svg[open..].find('>').map(|i| open + i + 1) else { return String::new() };
    let tag = svg[open..end].replacen(
        "<svg",
        &format!("<svg role=\"img\" aria-label=\"{title}\" focusable=\"false\" class=\"chart\""),
        1,
    );
    format!("{tag}<title>{title}</title>{}", &svg[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_names_itself_and_writes_every_value() {
        let chart = BarChart {
            title: "入户率 <按网格>",
            bars: vec![
                Bar { label: "G01".into(), value: 0.8, text: "80.0%".into() },
                Bar { label: "G<2>".into(), value: 0.25, text: "25.0%".into() },
            ],
            max: 1.0,
            target: Some(0.9),
            axis: Axis::Percent,
        };
        let svg = chart.svg().expect("svg");
        assert!(svg.starts_with("<svg role=\"img\" aria-label=\"入户率 &lt;按网格&gt;\""), "{svg}");
        assert!(svg.contains("<title>入户率 &lt;按网格&gt;</title>"));
        assert!(svg.contains("80.0%") && svg.contains("25.0%"));
        assert!(svg.contains("G&lt;2&gt;") && !svg.contains("G<2>"), "labels are escaped");
        assert!(!svg.contains("<?xml"), "inline, without an XML declaration");
        assert!(svg.contains("\n100%\n"), "the axis in percent");
        // The first bar is drawn above the second (SVG y grows downwards).
        let (first, second) = (svg.find("80.0%").expect("first"), svg.find("25.0%").expect("second"));
        let y_of = |at: usize| -> f64 {
            let tag = &svg[svg[..at].rfind("<text").expect("text tag")..at];
            let y = tag.split("y=\"").nth(1).and_then(|s| s.split('"').next()).expect("y");
            y.parse().expect("number")
        };
        assert!(y_of(first) < y_of(second), "first bar on top");
    }
}
