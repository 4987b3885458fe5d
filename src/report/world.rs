//! A minimal typst `World`: the report template as the main source, the data as `data.json` and
//! the charts as SVG files, all in memory; fonts from the `dejavu` crate (no system fonts, no
//! font scanning); a fixed "today" from --as-of so the same inputs give the same PDF bytes.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::path::PathBuf;
use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

pub struct ReportWorld {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
    main: Source,
    files: HashMap<FileId, Bytes>,
    today: Datetime,
}

fn file_id(path: &str) -> Result<FileId> {
    let vpath =
        VirtualPath::new(path).map_err(|e| Error::Usage(format!("report file {path}: {e:?}")))?;
    Ok(RootedPath::new(VirtualRoot::Project, vpath).intern())
}

impl ReportWorld {
    /// `template` is the typst source; `files` are (path, bytes) it can read.
    pub fn new(
        template: &str,
        files: Vec<(String, Vec<u8>)>,
        today: chrono::NaiveDate,
    ) -> Result<Self> {
        use chrono::Datelike;
        let fonts: Vec<Font> = [
            dejavu::sans::regular(),
            dejavu::sans::bold(),
            dejavu::sans::oblique(),
            dejavu::sans::bold_oblique(),
            dejavu::sans_mono::regular(),
        ]
        .into_iter()
        .flat_map(|b| Font::iter(Bytes::new(b)))
        .collect();
        let book = FontBook::from_fonts(&fonts);
        let main = Source::new(file_id("/report.typ")?, template.to_string());
        let mut map = HashMap::new();
        for (path, bytes) in files {
            map.insert(file_id(&path)?, Bytes::new(bytes));
        }
        Ok(ReportWorld {
            library: LazyHash::new(Library::builder().build()),
            book: LazyHash::new(book),
            fonts,
            main,
            files: map,
            today: Datetime::from_ymd(today.year(), today.month() as u8, today.day() as u8)
                .ok_or_else(|| Error::Usage("report date out of range".into()))?,
        })
    }

    /// Compile to PDF bytes.
    pub fn pdf(&self, ident: &str) -> Result<Vec<u8>> {
        let warned = typst::compile::<PagedDocument>(self);
        let doc = warned.output.map_err(|diags| {
            Error::Usage(format!(
                "report template: {}",
                diags
                    .iter()
                    .map(|d| d.message.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        })?;
        let options = typst_pdf::PdfOptions {
            ident: typst::foundations::Smart::Custom(ident.to_string()),
            creator: typst::foundations::Smart::Custom(Some("opsintel".to_string())),
            ..Default::default()
        };
        typst_pdf::pdf(&doc, &options).map_err(|diags| {
            Error::Usage(format!(
                "PDF export: {}",
                diags
                    .iter()
                    .map(|d| d.message.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        })
    }
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        &self.library
    }
    fn book(&self) -> &LazyHash<FontBook> {
        &self.book
    }
    fn main(&self) -> FileId {
        self.main.id()
    }
    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            let text = self.file(id)?;
            let text = std::str::from_utf8(&text)
                .map_err(|_| FileError::InvalidUtf8)?
                .to_string();
            Ok(Source::new(id, text))
        }
    }
    fn file(&self, id: FileId) -> FileResult<Bytes> {
        self.files
            .get(&id)
            .cloned()
            .ok_or_else(|| FileError::NotFound(PathBuf::from(format!("{id:?}"))))
    }
    fn font(&self, index: usize) -> Option<Font> {
        self.fonts.get(index).cloned()
    }
    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        Some(self.today)
    }
}
