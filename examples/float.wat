;; Float rounding: on x86_64 without SSE4.1 these go through the intrinsic library.
;; `aotc run float.wat --invoke round_sum 2.5` prints 7 (floor 2 + ceil 3 + nearest 2).
(module
  (func (export "round_sum") (param $x f64) (result f64)
    (f64.add
      (f64.add (f64.floor (local.get $x)) (f64.ceil (local.get $x)))
      (f64.nearest (local.get $x)))))
