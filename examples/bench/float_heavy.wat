;; Float-heavy benchmark kernel: a Mandelbrot grid with f64 arithmetic and comparisons, plus
;; square roots, rounding and int/float conversions per pixel (the fp.common and fpxint
;; intrinsics). `run size` returns a checksum; the work grows with size squared.
(module
  (func (export "run") (param $size i32) (result f64)
    (local $x i32) (local $y i32) (local $it i32)
    (local $cr f64) (local $ci f64) (local $zr f64) (local $zi f64) (local $t f64) (local $acc f64)
    (local $fsize f64)
    (local.set $fsize (f64.convert_i32_u (local.get $size)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $y) (local.get $size)))
        (local.set $ci (f64.sub (f64.div (f64.mul (f64.convert_i32_u (local.get $y)) (f64.const 2)) (local.get $fsize)) (f64.const 1)))
        (local.set $x (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $x) (local.get $size)))
            (local.set $cr (f64.sub (f64.div (f64.mul (f64.convert_i32_u (local.get $x)) (f64.const 3)) (local.get $fsize)) (f64.const 2)))
            (local.set $zr (f64.const 0))
            (local.set $zi (f64.const 0))
            (local.set $it (i32.const 0))
            (block $escaped
              (loop $iter
                (br_if $escaped (i32.ge_u (local.get $it) (i32.const 64)))
                (br_if $escaped (f64.gt (f64.add (f64.mul (local.get $zr) (local.get $zr)) (f64.mul (local.get $zi) (local.get $zi))) (f64.const 4)))
                (local.set $t (f64.add (f64.sub (f64.mul (local.get $zr) (local.get $zr)) (f64.mul (local.get $zi) (local.get $zi))) (local.get $cr)))
                (local.set $zi (f64.add (f64.mul (f64.mul (f64.const 2) (local.get $zr)) (local.get $zi)) (local.get $ci)))
                (local.set $zr (local.get $t))
                (local.set $it (i32.add (local.get $it) (i32.const 1)))
                (br $iter)))
            (local.set $acc
              (f64.add (local.get $acc)
                (f64.add
                  (f64.sqrt (f64.add (f64.mul (local.get $zr) (local.get $zr)) (f64.mul (local.get $zi) (local.get $zi))))
                  (f64.add
                    (f64.floor (f64.mul (f64.convert_i32_u (local.get $it)) (f64.const 0.5)))
                    (f64.convert_i32_s (i32.trunc_sat_f64_s (f64.nearest (f64.mul (local.get $cr) (f64.const 10)))))))))
            (local.set $x (i32.add (local.get $x) (i32.const 1)))
            (br $cols)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rows)))
    (local.get $acc)))
