//! Build script of aotc-loader: compiles the setjmp/longjmp glue (`csrc/jmpbuf.c`).

fn main() {
    println!("cargo:rerun-if-changed=csrc/jmpbuf.c");
    cc::Build::new()
        .file("csrc/jmpbuf.c")
        .warnings(true)
        .compile("aotc_loader_jmpbuf");
}
