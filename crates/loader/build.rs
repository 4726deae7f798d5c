//! Build script of aotc-loader: compiles the setjmp/longjmp glue (`csrc/jmpbuf.c`) and the
//! instruction-cache maintenance (`csrc/icache.c`).

const C_FILES: [&str; 2] = ["csrc/jmpbuf.c", "csrc/icache.c"];

fn main() {
    for file in C_FILES {
        println!("cargo:rerun-if-changed={file}");
    }
    cc::Build::new()
        .files(C_FILES)
        .warnings(true)
        .compile("aotc_loader_jmpbuf");
}
