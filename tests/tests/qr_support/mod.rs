//! Shared by tests/tests/posters.rs and browser_posters.rs (`mod qr_support;`). Reading QR
//! codes back, as a phone would: rasterise (resvg for an SVG, Poppler's
//! `pdftoppm` for a printed PDF) and decode every code in the picture with `rqrr`.

use std::path::Path;
use std::process::Command;

use resvg::{tiny_skia, usvg};

/// What each QR code found in a greyscale picture says, with its error-correction level
/// (rqrr's number: 0 = M, 1 = L, 2 = H, 3 = Q).
pub fn decode_grey(width: usize, height: usize, pixels: &[u8]) -> Vec<(String, u16)> {
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| pixels[y * width + x]);
    img.detect_grids()
        .into_iter()
        .filter_map(|g| g.decode().ok())
        .map(|(meta, text)| (text, meta.ecc_level))
        .collect()
}

fn grey_of(pixmap: &tiny_skia::Pixmap) -> Vec<u8> {
    pixmap
        .pixels()
        .iter()
        .map(|p| {
            // Transparent counts as white paper.
            let c = p.demultiply();
            let a = u32::from(c.alpha());
            let lum =
                (u32::from(c.red()) * 299 + u32::from(c.green()) * 587 + u32::from(c.blue()) * 114)
                    / 1000;
            ((lum * a + 255 * (255 - a)) / 255) as u8
        })
        .collect()
}

pub fn decode_png(png: &[u8]) -> Vec<(String, u16)> {
    let pixmap = tiny_skia::Pixmap::decode_png(png).expect("a PNG");
    decode_grey(
        pixmap.width() as usize,
        pixmap.height() as usize,
        &grey_of(&pixmap),
    )
}

/// The PNG's pixels as (width, height, grey values).
pub fn png_grey(png: &[u8]) -> (usize, usize, Vec<u8>) {
    let pixmap = tiny_skia::Pixmap::decode_png(png).expect("a PNG");
    (
        pixmap.width() as usize,
        pixmap.height() as usize,
        grey_of(&pixmap),
    )
}

/// Renders an SVG at `scale` times its size and decodes it.
pub fn decode_svg(svg: &str, scale: f32) -> Vec<(String, u16)> {
    let tree = usvg::Tree::from_str(svg, &usvg::Options::default()).expect("an SVG");
    let size = tree.size().to_int_size().scale_by(scale).expect("size");
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height()).expect("pixmap");
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    decode_grey(
        pixmap.width() as usize,
        pixmap.height() as usize,
        &grey_of(&pixmap),
    )
}

/// True when Poppler's `pdfinfo` and `pdftoppm` are installed (`.ci/run` installs them).
pub fn poppler_present() -> bool {
    ["pdfinfo", "pdftoppm"].iter().all(|tool| {
        Command::new(tool)
            .arg("-v")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// `pdfinfo`'s page count and page size in points.
pub fn pdf_pages(pdf: &Path) -> (usize, f64, f64) {
    let out = Command::new("pdfinfo")
        .arg(pdf)
        .output()
        .expect("run pdfinfo");
    assert!(out.status.success(), "pdfinfo {}", pdf.display());
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in pdfinfo: {text}"))
            .trim()
            .to_owned()
    };
    let pages = field("Pages:").parse().expect("page count");
    let size = field("Page size:");
    let mut nums = size
        .split_whitespace()
        .filter_map(|w| w.parse::<f64>().ok());
    let (w, h) = (nums.next().expect("width"), nums.next().expect("height"));
    (pages, w, h)
}

/// The first page of a PDF rasterised in grey at `dpi`, then decoded.
pub fn decode_pdf(pdf: &Path, dpi: u32) -> Vec<(String, u16)> {
    let prefix = pdf.with_extension("");
    let out = Command::new("pdftoppm")
        .args(["-gray", "-singlefile", "-r", &dpi.to_string()])
        .arg(pdf)
        .arg(&prefix)
        .output()
        .expect("run pdftoppm");
    assert!(
        out.status.success(),
        "pdftoppm {}: {}",
        pdf.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let pgm = std::fs::read(prefix.with_extension("pgm")).expect("the rasterised page");
    let (w, h, pixels) = parse_pgm(&pgm);
    decode_grey(w, h, pixels)
}

/// A binary PGM (`P5`, 8-bit), as pdftoppm writes it.
fn parse_pgm(data: &[u8]) -> (usize, usize, &[u8]) {
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while data[i].is_ascii_whitespace() {
            i += 1;
        }
        if data[i] == b'#' {
            while data[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        while !data[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&data[start..i]).into_owned());
    }
    assert_eq!(fields[0], "P5", "not a binary PGM");
    assert_eq!(fields[3], "255", "not an 8-bit PGM");
    let (w, h): (usize, usize) = (fields[1].parse().expect("w"), fields[2].parse().expect("h"));
    (w, h, &data[i + 1..i + 1 + w * h])
}

/// The red of the test logo.
const LOGO_RED: (u8, u8, u8) = (220, 0, 0);

/// A 300×100 logo of plain red, as a PNG carrying a text chunk (`secret-metadata`) that the
/// server's redrawing must drop.
pub fn red_logo_with_metadata() -> Vec<u8> {
    png_with_metadata(300, 100, LOGO_RED)
}

/// A PNG of one colour with a text chunk carrying `secret-metadata` (which a sanitised logo
/// must not keep).
pub fn png_with_metadata(width: u32, height: u32, (r, g, b): (u8, u8, u8)) -> Vec<u8> {
    let mut p = tiny_skia::Pixmap::new(width, height).expect("pixmap");
    p.fill(tiny_skia::Color::from_rgba8(r, g, b, 255));
    let png = p.encode_png().expect("png");
    let chunk = b"tEXtComment\0secret-metadata";
    let mut out = png[..33].to_vec();
    out.extend_from_slice(&(chunk.len() as u32 - 4).to_be_bytes());
    out.extend_from_slice(chunk);
    out.extend_from_slice(&crc32(chunk).to_be_bytes());
    out.extend_from_slice(&png[33..]);
    out
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

/// How many pixels of the logo's red a PNG has within the box `(x, y, width, height)`.
pub fn logo_red_pixels(png: &[u8], (x, y, w, h): (u32, u32, u32, u32)) -> usize {
    let p = tiny_skia::Pixmap::decode_png(png).expect("a PNG");
    let mut red = 0;
    for py in y..(y + h).min(p.height()) {
        for px in x..(x + w).min(p.width()) {
            let c = p.pixel(px, py).expect("in the image").demultiply();
            if c.red() > 180 && c.green() < 40 && c.blue() < 40 {
                red += 1;
            }
        }
    }
    red
}
