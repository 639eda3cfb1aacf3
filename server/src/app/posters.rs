//! Posters and QR codes: the QR code of an intake address (SVG and PNG), the texts a poster
//! carries in each language, and the screen-sized image for video walls (an SVG laid out
//! here, rendered to PNG by resvg with an embedded free font). Keeps rule
//! `reporter-anonymity`: the code carries the address exactly as given (no tracking
//! parameter), and the poster tells people to use their own phone on mobile data.
//!
//! Every function takes the address to print, so a poster of another address (an entity's,
//! later) is drawn the same way. An entity's posters may carry its logo: only the sanitised
//! PNG (`app::logos`), embedded in the video-wall image, from which nothing else is loaded.

use std::fmt::Write;
use std::sync::{Arc, LazyLock};

use qrcode::{EcLevel, QrCode};
use resvg::{tiny_skia, usvg};

use super::Error;
use crate::domain::deadlines::{ACK_DAYS, FEEDBACK_MONTHS};
use crate::domain::poster::{PosterSet, short_address};
use crate::i18n::Lang;

/// High error correction (about 30 % of the code may be lost): a poster in a corridor gets
/// scuffed, torn at a corner or drawn on, and must still scan.
pub const EC_LEVEL: EcLevel = EcLevel::H;
/// Pixels per module in the PNG: sharp when printed at 300 dpi up to about 10 cm wide.
pub const PNG_MODULE_PX: u32 = 12;
/// The video-wall image's size.
pub const SCREEN_WIDTH: u32 = 1920;
pub const SCREEN_HEIGHT: u32 = 1080;

/// DejaVu Sans (free licence, see frontend/fonts/README.md), cut down to the Latin letters
/// the four languages use: the PNG renders the same on any server, with no system font.
const FONT_REGULAR: &[u8] = include_bytes!("../../../frontend/fonts/DejaVuSans.ttf");
const FONT_BOLD: &[u8] = include_bytes!("../../../frontend/fonts/DejaVuSans-Bold.ttf");
pub(crate) const FONT_FAMILY: &str = "DejaVu Sans";

fn code(address: &str) -> Result<QrCode, Error> {
    QrCode::with_error_correction_level(address.as_bytes(), EC_LEVEL).map_err(Error::internal)
}

/// An entity's intake address (issue 12): its landing page under the instance's address,
/// with nothing added (no tracking parameter).
pub fn entity_address(base: &str, slug: &crate::domain::entity::EntitySlug) -> String {
    format!("{}/e/{slug}/", base.trim_end_matches('/'))
}

/// The QR code as a standalone SVG document, with the standard quiet zone (4 modules).
pub fn qr_svg(address: &str) -> Result<String, Error> {
    Ok(code(address)?
        .render::<qrcode::render::svg::Color>()
        .quiet_zone(true)
        .module_dimensions(8, 8)
        .build())
}

/// The same, for inlining in a page (no XML declaration).
pub fn qr_svg_inline(address: &str) -> Result<String, Error> {
    let svg = qr_svg(address)?;
    Ok(match svg.find("<svg") {
        Some(at) => svg[at..].to_owned(),
        None => svg,
    })
}

/// The QR code as a PNG, black on white, quiet zone included.
pub fn qr_png(address: &str) -> Result<Vec<u8>, Error> {
    let code = code(address)?;
    let modules = u32::try_from(code.width()).map_err(Error::internal)?;
    let side = (modules + 8) * PNG_MODULE_PX;
    let mut pixmap = tiny_skia::Pixmap::new(side, side)
        .ok_or_else(|| Error::internal(anyhow::anyhow!("QR image too large")))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    let mut paint = tiny_skia::Paint::default();
    paint.set_color(tiny_skia::Color::BLACK);
    let px = PNG_MODULE_PX as f32;
    for (i, color) in code.to_colors().into_iter().enumerate() {
        let dark = color == qrcode::Color::Dark;
        let (x, y) = ((i as u32 % modules) + 4, (i as u32 / modules) + 4);
        if let (true, Some(rect)) = (
            dark,
            tiny_skia::Rect::from_xywh(x as f32 * px, y as f32 * px, px, px),
        ) {
            pixmap.fill_rect(rect, &paint, tiny_skia::Transform::identity(), None);
        }
    }
    pixmap.encode_png().map_err(Error::internal)
}

/// One language's words on a poster.
#[derive(Debug, Clone)]
pub struct PosterText {
    pub lang: Lang,
    pub title: String,
    pub scan: String,
    pub anonymous: String,
    pub phone: String,
    pub after: String,
    pub external: String,
    pub onion: String,
}

pub fn texts(set: PosterSet) -> Vec<PosterText> {
    set.codes()
        .iter()
        .filter_map(|c| Lang::from_code(c))
        .map(|lang| {
            let t = lang.tr();
            PosterText {
                lang,
                title: t.get("poster.title").to_owned(),
                scan: t.get("poster.scan").to_owned(),
                anonymous: t.get("poster.anonymous").to_owned(),
                phone: t.get("poster.phone").to_owned(),
                after: t.fmt(
                    "poster.after",
                    &[
                        ("days", &ACK_DAYS.to_string()),
                        ("months", &FEEDBACK_MONTHS.to_string()),
                    ],
                ),
                external: t.get("poster.external").to_owned(),
                onion: t.get("poster.onion").to_owned(),
            }
        })
        .collect()
}

/// An entity's logo on its posters (issue 12): only ever the sanitised PNG `app::logos`
/// drew, never the file as uploaded.
#[derive(Debug, Clone)]
pub struct PosterLogo {
    /// Where a printed poster loads it: the same origin, under the strict CSP's `img-src 'self'`.
    pub src: String,
    /// Its text alternative: the entity's name in the poster's language.
    pub alt: String,
    /// The PNG itself, embedded in the video-wall image (nothing is fetched to draw it).
    pub png: Vec<u8>,
}

/// Everything a poster shows, whatever its size.
#[derive(Debug, Clone)]
pub struct Poster {
    pub org_name: String,
    pub address: String,
    pub short_address: String,
    pub qr_svg: String,
    /// The onion address (as text) and its QR code, when one is configured.
    pub onion: Option<(String, String)>,
    pub texts: Vec<PosterText>,
    /// An entity's logo; `None` for the instance's posters and an entity without one.
    pub logo: Option<PosterLogo>,
}

impl Poster {
    /// The same poster with an entity's logo.
    pub fn with_logo(self, logo: Option<PosterLogo>) -> Self {
        Self { logo, ..self }
    }
}

pub fn poster(
    org_name: &str,
    address: &str,
    onion: Option<&str>,
    set: PosterSet,
) -> Result<Poster, Error> {
    let onion = onion
        .map(|o| Ok::<_, Error>((o.to_owned(), qr_svg_inline(o)?)))
        .transpose()?;
    Ok(Poster {
        org_name: org_name.to_owned(),
        address: address.to_owned(),
        short_address: short_address(address),
        qr_svg: qr_svg_inline(address)?,
        onion,
        texts: texts(set),
        logo: None,
    })
}

static FACES: LazyLock<Option<(ttf_parser::Face<'static>, ttf_parser::Face<'static>)>> =
    LazyLock::new(|| {
        Some((
            ttf_parser::Face::parse(FONT_REGULAR, 0).ok()?,
            ttf_parser::Face::parse(FONT_BOLD, 0).ok()?,
        ))
    });

pub(crate) static FONTS: LazyLock<Arc<usvg::fontdb::Database>> = LazyLock::new(|| {
    let mut db = usvg::fontdb::Database::new();
    db.load_font_data(FONT_REGULAR.to_vec());
    db.load_font_data(FONT_BOLD.to_vec());
    Arc::new(db)
});

/// The width of `text` at `size` pixels, from the embedded font's advances (a little wide
/// where kerning would tighten a pair, which only makes lines break early).
fn text_width(text: &str, size: f32, bold: bool) -> f32 {
    let Some((regular, heavy)) = FACES.as_ref() else {
        return text.chars().count() as f32 * size * 0.65;
    };
    let face = if bold { heavy } else { regular };
    let units = f32::from(face.units_per_em());
    let advance: f32 = text
        .chars()
        .map(|c| {
            face.glyph_index(c)
                .and_then(|g| face.glyph_hor_advance(g))
                .map_or(units * 0.6, f32::from)
        })
        .sum();
    advance * size / units
}

/// Breaks `text` into lines no wider than `width` at `size` (a word longer than a line gets
/// a line of its own).
fn wrap(text: &str, size: f32, bold: bool, width: f32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if !line.is_empty() && text_width(&candidate, size, bold) > width {
            lines.push(std::mem::replace(&mut line, word.to_owned()));
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A QR code placed at (x, y), `side` pixels wide including its quiet zone.
fn qr_group(out: &mut String, address: &str, x: f32, y: f32, side: f32) -> Result<(), Error> {
    let code = code(address)?;
    let modules = code.width();
    let scale = side / (modules + 8) as f32;
    let _ = write!(
        out,
        r##"<g transform="translate({x} {y}) scale({scale})"><rect width="{w}" height="{w}" fill="#fff"/><path fill="#000" shape-rendering="crispEdges" d=""##,
        w = modules + 8
    );
    for (i, color) in code.to_colors().into_iter().enumerate() {
        let dark = color == qrcode::Color::Dark;
        if dark {
            let _ = write!(out, "M{} {}h1v1h-1z", i % modules + 4, i / modules + 4);
        }
    }
    out.push_str(r#""/></g>"#);
    Ok(())
}

/// Lines of text placed from `y` down, returned with the `y` below them.
struct Flow {
    body: String,
    x: f32,
    width: f32,
    y: f32,
}

impl Flow {
    fn text(&mut self, text: &str, size: f32, bold: bool, lang: &str, gap: f32) {
        let weight = if bold { "bold" } else { "normal" };
        for line in wrap(text, size, bold, self.width) {
            self.y += size * 1.2;
            let _ = write!(
                self.body,
                r#"<text x="{}" y="{:.1}" font-size="{size:.1}" font-weight="{weight}" xml:lang="{lang}">{}</text>"#,
                self.x,
                self.y,
                escape(&line)
            );
        }
        self.y += gap;
    }
}

/// The logo's box on the video-wall image: atop the text column, the logo fitted inside it.
const SCREEN_LOGO: (f32, f32, f32, f32) = (820.0, 60.0, 480.0, 120.0);

/// The language blocks at `scale` (1.0 for one language), below the logo when there is one;
/// the flow's end tells whether they fit.
fn screen_blocks(p: &Poster, scale: f32) -> Flow {
    let (_, logo_y, _, logo_h) = SCREEN_LOGO;
    let mut flow = Flow {
        body: String::new(),
        x: 820.0,
        width: 1020.0,
        y: match p.logo {
            Some(_) => logo_y + logo_h + 16.0,
            None => 60.0,
        },
    };
    let single = p.texts.len() == 1;
    flow.text(&p.org_name, 30.0 * scale, false, "", 20.0 * scale);
    for t in &p.texts {
        let lang = t.lang.code();
        flow.text(&t.title, 58.0 * scale, true, lang, 14.0 * scale);
        let mut lines = vec![&t.scan, &t.anonymous, &t.phone, &t.after];
        if single {
            lines.push(&t.external);
        }
        for line in lines {
            flow.text(line, 32.0 * scale, false, lang, 10.0 * scale);
        }
        flow.y += 24.0 * scale;
    }
    flow
}

/// The video-wall poster as an SVG of 1920×1080: the QR code and the address on the left,
/// the texts on the right, shrunk until they fit.
pub fn screen_svg(p: &Poster) -> Result<String, Error> {
    let mut scale = 1.0;
    let mut flow = screen_blocks(p, scale);
    while flow.y > SCREEN_HEIGHT as f32 - 40.0 && scale > 0.3 {
        scale *= 0.92;
        flow = screen_blocks(p, scale);
    }
    let mut out = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{SCREEN_WIDTH}" height="{SCREEN_HEIGHT}" viewBox="0 0 {SCREEN_WIDTH} {SCREEN_HEIGHT}" font-family="{FONT_FAMILY}"><rect width="100%" height="100%" fill="#fff"/><rect x="780" y="60" width="6" height="960" fill="#1f4e79"/>"##
    );
    let qr_side = if p.onion.is_some() { 560.0 } else { 660.0 };
    qr_group(&mut out, &p.address, 80.0, 60.0, qr_side)?;
    let mut left = Flow {
        body: String::new(),
        x: 100.0,
        width: 660.0,
        y: 60.0 + qr_side,
    };
    let size = if p.short_address.len() > 26 {
        30.0
    } else {
        44.0
    };
    left.text(&p.short_address, size, true, "", 20.0);
    if let Some((onion, _)) = &p.onion {
        let label: Vec<&str> = p.texts.iter().map(|t| t.onion.as_str()).collect();
        left.text(&label.join(" · "), 22.0, false, "", 4.0);
        // One long word: as large as fits the column, at most 20 px.
        let size = (640.0 / text_width(onion, 1.0, false)).min(20.0);
        left.text(onion, size, false, "", 0.0);
        qr_group(&mut out, onion, 560.0, 820.0, 200.0)?;
    }
    out.push_str(&left.body);
    if let Some(logo) = &p.logo {
        logo_image(&mut out, logo);
    }
    out.push_str(&flow.body);
    out.push_str("</svg>");
    Ok(out)
}

/// The logo as an `<image>` carrying its PNG in a `data:` address: the SVG is self-contained
/// (a download shows it anywhere) and rendering it reads nothing else.
fn logo_image(out: &mut String, logo: &PosterLogo) {
    use base64::Engine;
    let (x, y, w, h) = SCREEN_LOGO;
    let data = base64::engine::general_purpose::STANDARD.encode(&logo.png);
    let _ = write!(
        out,
        r#"<image x="{x}" y="{y}" width="{w}" height="{h}" preserveAspectRatio="xMinYMid meet" href="data:image/png;base64,{data}"><title>{}</title></image>"#,
        escape(&logo.alt)
    );
}

/// The video-wall poster as a PNG of exactly 1920×1080.
pub fn screen_png(p: &Poster) -> Result<Vec<u8>, Error> {
    render_screen(&screen_svg(p)?)
}

/// Renders a video-wall SVG to PNG. resvg is built without its raster decoders (JPEG, GIF,
/// WebP: code the server has no other use for), so it draws the SVG without its images (and
/// would warn at each one); the embedded PNGs (the logo) are then drawn where usvg places
/// them, by the PNG decoder tiny-skia already has.
fn render_screen(svg: &str) -> Result<Vec<u8>, Error> {
    let mut pixmap = tiny_skia::Pixmap::new(SCREEN_WIDTH, SCREEN_HEIGHT)
        .ok_or_else(|| Error::internal(anyhow::anyhow!("screen image too large")))?;
    let drawing = usvg::Tree::from_str(svg, &screen_options(false)).map_err(Error::internal)?;
    resvg::render(
        &drawing,
        tiny_skia::Transform::identity(),
        &mut pixmap.as_mut(),
    );
    if svg.contains("<image") {
        let images = usvg::Tree::from_str(svg, &screen_options(true)).map_err(Error::internal)?;
        draw_pngs(images.root(), &mut pixmap.as_mut());
    }
    pixmap.encode_png().map_err(Error::internal)
}

/// usvg's options for the video-wall image: the embedded font, and images resolved only
/// from a PNG embedded as a `data:` address (when `images`), never from a file path nor an
/// address: no file is read, nothing is fetched.
fn screen_options(images: bool) -> usvg::Options<'static> {
    usvg::Options {
        fontdb: FONTS.clone(),
        font_family: FONT_FAMILY.to_owned(),
        image_href_resolver: usvg::ImageHrefResolver {
            resolve_data: Box::new(move |mime, data, _| {
                (images && mime == "image/png" && data.starts_with(PNG_SIGNATURE))
                    .then_some(usvg::ImageKind::PNG(data))
            }),
            resolve_string: Box::new(|_, _| None),
        },
        ..Default::default()
    }
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Draws the group's PNG images at the size and place usvg gave them (the `<image>` box,
/// its aspect ratio kept).
fn draw_pngs(group: &usvg::Group, pixmap: &mut tiny_skia::PixmapMut) {
    for node in group.children() {
        match node {
            usvg::Node::Group(g) => draw_pngs(g, pixmap),
            usvg::Node::Image(image) => {
                let usvg::ImageKind::PNG(data) = image.kind() else {
                    continue;
                };
                let Ok(png) = tiny_skia::Pixmap::decode_png(data) else {
                    continue;
                };
                // `abs_transform` maps the image's own pixels (`size`) onto the canvas.
                let size = image.size();
                let at = image.abs_transform().pre_scale(
                    size.width() / png.width() as f32,
                    size.height() / png.height() as f32,
                );
                let paint = tiny_skia::PixmapPaint {
                    quality: tiny_skia::FilterQuality::Bicubic,
                    ..Default::default()
                };
                pixmap.draw_pixmap(0, 0, png.as_ref(), &paint, at, None);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_svg_has_a_quiet_zone_and_high_correction() {
        let svg = qr_svg("https://speak.example.org").unwrap();
        assert!(svg.contains("<svg"));
        let code = code("https://speak.example.org").unwrap();
        assert_eq!(code.error_correction_level(), EcLevel::H);
        // 4 modules of 8 px on each side around the code.
        let side = (code.width() + 8) * 8;
        assert!(svg.contains(&format!("width=\"{side}\"")), "{svg}");
    }

    #[test]
    fn lines_wrap_within_the_width() {
        let lines = wrap(
            "Gebruik je eigen telefoon met mobiele data: niet de wifi van het werk.",
            32.0,
            false,
            400.0,
        );
        assert!(lines.len() > 1);
        for l in &lines {
            assert!(
                text_width(l, 32.0, false) <= 400.0 || !l.contains(' '),
                "{l}"
            );
        }
    }

    #[test]
    fn every_poster_character_is_in_the_font() {
        let (regular, bold) = FACES.as_ref().expect("the embedded fonts parse");
        for t in texts(PosterSet::All) {
            let all = [
                &t.title,
                &t.scan,
                &t.anonymous,
                &t.phone,
                &t.after,
                &t.external,
                &t.onion,
            ];
            for c in all.iter().flat_map(|s| s.chars()) {
                assert!(
                    regular.glyph_index(c).is_some() && bold.glyph_index(c).is_some(),
                    "{c:?} ({}) is not in the embedded font",
                    t.lang.code()
                );
            }
        }
    }

    #[test]
    fn the_screen_image_is_full_hd() {
        let p = poster("ACME", "https://speak.example.org", None, PosterSet::All).unwrap();
        let png = screen_png(&p).unwrap();
        let img = tiny_skia::Pixmap::decode_png(&png).unwrap();
        assert_eq!((img.width(), img.height()), (SCREEN_WIDTH, SCREEN_HEIGHT));
    }

    /// A 200×100 logo of pure red.
    fn red_png() -> Vec<u8> {
        let mut p = tiny_skia::Pixmap::new(200, 100).unwrap();
        p.fill(tiny_skia::Color::from_rgba8(220, 0, 0, 255));
        p.encode_png().unwrap()
    }

    /// How many red pixels the image has within the logo's box.
    fn red_in_logo_box(png: &[u8]) -> usize {
        let img = tiny_skia::Pixmap::decode_png(png).unwrap();
        let (x, y, w, h) = SCREEN_LOGO;
        let mut red = 0;
        for py in y as u32..(y + h) as u32 {
            for px in x as u32..(x + w) as u32 {
                let c = img.pixel(px, py).unwrap();
                if c.red() > 180 && c.green() < 40 && c.blue() < 40 {
                    red += 1;
                }
            }
        }
        red
    }

    #[test]
    fn an_entitys_logo_is_drawn_atop_the_text_column() {
        let address = "https://speak.example.org/e/acme/";
        let plain = poster("ACME", address, None, PosterSet::NlFr).unwrap();
        let logo = PosterLogo {
            src: "/e/acme/logo.png".to_owned(),
            alt: "ACME & Co".to_owned(),
            png: red_png(),
        };
        let with = plain.clone().with_logo(Some(logo));
        let svg = screen_svg(&with).unwrap();
        assert!(svg.contains("href=\"data:image/png;base64,"), "{svg}");
        assert!(svg.contains("<title>ACME &amp; Co</title>"), "{svg}");
        assert!(!screen_svg(&plain).unwrap().contains("<image"));
        assert_eq!(red_in_logo_box(&screen_png(&plain).unwrap()), 0);
        // 200×100 fitted into 480×120: 240×120 pixels, give or take the edges.
        let red = red_in_logo_box(&screen_png(&with).unwrap());
        assert!((230 * 110..=250 * 125).contains(&red), "{red} red pixels");
    }

    #[test]
    fn the_screen_renderer_reads_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("logo.png");
        std::fs::write(&file, red_png()).unwrap();
        let (x, y, w, h) = SCREEN_LOGO;
        let svg = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{SCREEN_WIDTH}" height="{SCREEN_HEIGHT}"><image x="{x}" y="{y}" width="{w}" height="{h}" href="{}"/></svg>"#,
            file.display()
        );
        assert_eq!(red_in_logo_box(&render_screen(&svg).unwrap()), 0);
    }
}
