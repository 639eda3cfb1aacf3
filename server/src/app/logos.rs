//! An entity's logo (issue 12): what an admin uploads is never stored nor served. A PNG is
//! decoded, an SVG is rendered (by resvg, with nothing it refers to fetched or read: an SVG
//! that names another file or image is refused), and the pixels are drawn into a fresh PNG of
//! at most `MAX_SIDE` pixels a side, which carries no metadata; the entity's page and its
//! posters show only that PNG. Keeps the rule "an entity's logo is a sanitised image"
//! (docs/threat-model.md); changes are audited `entity_changed`.

use resvg::{tiny_skia, usvg};

use super::audit::{action, entry};
use super::entities::{By, Entity, find};
use super::posters::{FONT_FAMILY, FONTS, PosterLogo};
use super::{App, Result};
use crate::i18n::Lang;
use crate::store::OfficerRecord;

/// The largest file accepted, in bytes.
pub const MAX_UPLOAD: usize = 512 * 1024;
/// The longest side of the stored logo, in pixels.
pub const MAX_SIDE: u32 = 512;
/// The largest PNG accepted as input, in pixels a side (decoding a larger one could take a
/// great deal of memory from a small file).
const MAX_INPUT_SIDE: u32 = 4096;

/// Why a file cannot be a logo; each is a catalog key `logo.error.<word>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LogoError {
    #[error("no file was chosen")]
    Empty,
    #[error("the file is larger than 512 KiB")]
    TooBig,
    #[error("the file is neither a PNG nor an SVG image")]
    NotAnImage,
    #[error("the image could not be read")]
    Unreadable,
    #[error("the SVG refers to another file or image")]
    External,
}

impl LogoError {
    /// The catalog key of the message shown to the admin.
    pub fn key(self) -> &'static str {
        match self {
            LogoError::Empty => "logo.error.empty",
            LogoError::TooBig => "logo.error.too_big",
            LogoError::NotAnImage => "logo.error.not_image",
            LogoError::Unreadable => "logo.error.unreadable",
            LogoError::External => "logo.error.external",
        }
    }
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The uploaded file as a fresh PNG, or why it cannot be a logo.
pub fn sanitise(file: &[u8]) -> std::result::Result<Vec<u8>, LogoError> {
    if file.is_empty() {
        return Err(LogoError::Empty);
    }
    if file.len() > MAX_UPLOAD {
        return Err(LogoError::TooBig);
    }
    let pixmap = if file.starts_with(PNG_SIGNATURE) {
        fit(&decode_png(file)?)?
    } else {
        let text = std::str::from_utf8(file).map_err(|_| LogoError::NotAnImage)?;
        if !text.contains("<svg") {
            return Err(LogoError::NotAnImage);
        }
        render_svg(text)?
    };
    pixmap.encode_png().map_err(|_| LogoError::Unreadable)
}

/// Decodes a PNG whose header announces at most `MAX_INPUT_SIDE` pixels a side.
fn decode_png(file: &[u8]) -> std::result::Result<tiny_skia::Pixmap, LogoError> {
    let side = |at: usize| {
        file.get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    match (side(16), side(20)) {
        (Some(w), Some(h)) if w <= MAX_INPUT_SIDE && h <= MAX_INPUT_SIDE => {}
        (Some(_), Some(_)) => return Err(LogoError::TooBig),
        _ => return Err(LogoError::Unreadable),
    }
    tiny_skia::Pixmap::decode_png(file).map_err(|_| LogoError::Unreadable)
}

/// The size that fits `(w, h)` within `MAX_SIDE` a side, and the scale to it. Pixels are
/// only shrunk; a drawing (`grow`) is also enlarged to fill the bound, as it stays sharp.
fn fitted(w: f32, h: f32, grow: bool) -> std::result::Result<(u32, u32, f32), LogoError> {
    if !(w.is_finite() && h.is_finite() && w > 0.0 && h > 0.0) {
        return Err(LogoError::Unreadable);
    }
    let scale = MAX_SIDE as f32 / w.max(h);
    let scale = if grow { scale } else { scale.min(1.0) };
    let side = |v: f32| ((v * scale).round() as u32).clamp(1, MAX_SIDE);
    Ok((side(w), side(h), scale))
}

/// A decoded PNG drawn into a new pixmap no larger than `MAX_SIDE` a side.
fn fit(src: &tiny_skia::Pixmap) -> std::result::Result<tiny_skia::Pixmap, LogoError> {
    let (w, h, scale) = fitted(src.width() as f32, src.height() as f32, false)?;
    let mut out = tiny_skia::Pixmap::new(w, h).ok_or(LogoError::Unreadable)?;
    let paint = tiny_skia::PixmapPaint {
        quality: tiny_skia::FilterQuality::Bicubic,
        ..Default::default()
    };
    let at = tiny_skia::Transform::from_scale(scale, scale);
    out.draw_pixmap(0, 0, src.as_ref(), &paint, at, None);
    Ok(out)
}

/// Whether an SVG names anything outside itself: an `href` (in any namespace) other than a
/// fragment of the same document, or a `url(...)` other than `url(#...)`. A document type
/// declaration is refused by the parser (no entities to expand).
fn refers_outside(text: &str) -> std::result::Result<bool, LogoError> {
    let doc = usvg::roxmltree::Document::parse(text).map_err(|_| LogoError::Unreadable)?;
    let outside_url = |v: &str| {
        v.match_indices("url(").any(|(i, _)| {
            let rest = v[i + 4..].trim_start_matches([' ', '"', '\'']);
            !rest.starts_with('#')
        })
    };
    let outside = doc.descendants().any(|n| {
        let attrs = n.attributes().any(|a| {
            (a.name() == "href" && !a.value().trim().starts_with('#')) || outside_url(a.value())
        });
        let text = n.is_text()
            && n.text()
                .is_some_and(|t| outside_url(t) || t.contains("@import"));
        attrs || text
    });
    Ok(outside)
}

/// Renders an SVG that refers to nothing outside itself, fitted within `MAX_SIDE` a side.
fn render_svg(text: &str) -> std::result::Result<tiny_skia::Pixmap, LogoError> {
    if refers_outside(text)? {
        return Err(LogoError::External);
    }
    let options = usvg::Options {
        fontdb: FONTS.clone(),
        font_family: FONT_FAMILY.to_owned(),
        // Nothing is ever loaded, not even an embedded image (checked above too).
        image_href_resolver: usvg::ImageHrefResolver {
            resolve_data: Box::new(|_, _, _| None),
            resolve_string: Box::new(|_, _| None),
        },
        ..Default::default()
    };
    let tree = usvg::Tree::from_str(text, &options).map_err(|_| LogoError::Unreadable)?;
    let size = tree.size();
    let (w, h, _) = fitted(size.width(), size.height(), true)?;
    let scale = (w as f32 / size.width()).min(h as f32 / size.height());
    let mut pixmap = tiny_skia::Pixmap::new(w, h).ok_or(LogoError::Unreadable)?;
    let at = tiny_skia::Transform::from_scale(scale, scale);
    resvg::render(&tree, at, &mut pixmap.as_mut());
    Ok(pixmap)
}

/// Sets an entity's logo from an uploaded file; `Ok(Err(_))` says why the file was refused
/// (nothing stored). `NotFound` for an unknown entity.
pub async fn set(
    app: &App,
    admin: &OfficerRecord,
    slug: &str,
    file: &[u8],
) -> Result<std::result::Result<(), LogoError>> {
    let actor = By::Admin(admin).actor()?;
    let entity = find(app, slug).await?;
    let png = match sanitise(file) {
        Ok(png) => png,
        Err(e) => return Ok(Err(e)),
    };
    let detail = format!("{} logo", entity.slug);
    let audit = entry(app.clock.now(), actor, action::ENTITY_CHANGED, "", &detail);
    match app
        .store
        .set_entity_logo(&entity.slug, Some(&png), &audit)
        .await?
    {
        true => Ok(Ok(())),
        false => Err(super::Error::NotFound),
    }
}

/// Removes an entity's logo; `Ok(false)` when it had none.
pub async fn remove(app: &App, admin: &OfficerRecord, slug: &str) -> Result<bool> {
    let actor = By::Admin(admin).actor()?;
    let entity = find(app, slug).await?;
    let detail = format!("{} logo removed", entity.slug);
    let audit = entry(app.clock.now(), actor, action::ENTITY_CHANGED, "", &detail);
    Ok(app
        .store
        .set_entity_logo(&entity.slug, None, &audit)
        .await?)
}

/// The stored PNG of an entity's logo; `NotFound` when the entity or its logo does not exist.
pub async fn png(app: &App, slug: &str) -> Result<Vec<u8>> {
    let entity = find(app, slug).await?;
    app.store
        .entity_logo(&entity.slug)
        .await?
        .ok_or(super::Error::NotFound)
}

/// An entity's logo as its posters in `lang` show it: the stored (sanitised) PNG, its
/// same-origin address, and the entity's name as its text; `None` when it has no logo.
pub async fn on_poster(app: &App, entity: &Entity, lang: Lang) -> Result<Option<PosterLogo>> {
    if !entity.has_logo {
        return Ok(None);
    }
    // Removed since the entity was read: the poster is drawn without it.
    let Some(png) = app.store.entity_logo(&entity.slug).await? else {
        return Ok(None);
    };
    Ok(Some(PosterLogo {
        src: format!("/e/{}/logo.png", entity.slug),
        alt: entity.name(lang).to_owned(),
        png,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decodes(png: &[u8]) -> (u32, u32) {
        assert!(png.starts_with(PNG_SIGNATURE));
        let p = tiny_skia::Pixmap::decode_png(png).unwrap();
        (p.width(), p.height())
    }

    #[test]
    fn an_svg_is_rendered_to_a_bounded_png() {
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" width="2000" height="1000"><rect width="2000" height="1000" fill="#c00"/><script>alert(1)</script></svg>"##;
        let png = sanitise(svg.as_bytes()).unwrap();
        assert_eq!(decodes(&png), (512, 256));
        assert!(!png.windows(5).any(|w| w == b"alert"));
        // A small drawing is enlarged to the bound.
        let small = r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 20 10"><circle cx="5" cy="5" r="4"/></svg>"#;
        assert_eq!(decodes(&sanitise(small.as_bytes()).unwrap()), (512, 256));
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for b in bytes {
            crc ^= u32::from(*b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn a_png_is_redrawn_without_its_extra_chunks() {
        let mut src = tiny_skia::Pixmap::new(40, 20).unwrap();
        src.fill(tiny_skia::Color::from_rgba8(0, 90, 200, 255));
        let png = src.encode_png().unwrap();
        // A text chunk after the header: gone in the output.
        let mut with_text = png[..33].to_vec();
        let chunk = b"tEXtComment\0secret-metadata";
        with_text.extend_from_slice(&(chunk.len() as u32 - 4).to_be_bytes());
        with_text.extend_from_slice(chunk);
        with_text.extend_from_slice(&crc32(&chunk[..]).to_be_bytes());
        with_text.extend_from_slice(&png[33..]);
        let out = sanitise(&with_text).unwrap();
        assert_eq!(decodes(&out), (40, 20));
        assert!(!out.windows(6).any(|w| w == b"secret"));
    }

    #[test]
    fn bad_files_are_refused() {
        assert_eq!(sanitise(b""), Err(LogoError::Empty));
        assert_eq!(sanitise(b"GIF89a...."), Err(LogoError::NotAnImage));
        assert_eq!(
            sanitise(&vec![b' '; MAX_UPLOAD + 1]),
            Err(LogoError::TooBig)
        );
        assert_eq!(sanitise(b"<svg"), Err(LogoError::Unreadable));
        let outside = [
            r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="9" height="9"><image xlink:href="http://evil.example/x.png" width="9" height="9"/></svg>"#,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"><image href="/etc/logo.png" width="9" height="9"/></svg>"#,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"><rect width="9" height="9" fill="url(http://evil.example/#p)"/></svg>"#,
        ];
        for svg in outside {
            assert_eq!(sanitise(svg.as_bytes()), Err(LogoError::External), "{svg}");
        }
        let mut huge = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        huge.extend_from_slice(&100_000u32.to_be_bytes());
        huge.extend_from_slice(&100_000u32.to_be_bytes());
        assert_eq!(sanitise(&huge), Err(LogoError::TooBig));
    }
}
