//! MARC 21: the readers and writers on their own (structure, character sets, every bad-record
//! class, fuzzing, interoperation with `yaz-marcdump`), and records in and out of a library.

#[allow(dead_code)]
mod common;
mod errors;
mod fuzz;
mod library;
mod roundtrip;
mod yaz_interop;
