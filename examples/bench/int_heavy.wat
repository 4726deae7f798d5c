;; Integer-heavy benchmark kernel: 64-bit hashing with multiply, shifts, division, remainder
;; and bit counts (the i32.common and i64.common intrinsics), plus a byte sieve in memory.
;; `run n` returns a checksum; the work grows linearly with n.
(module
  (memory 1)
  (func $mix (param $x i64) (result i64)
    (local.set $x (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 33))))
    (local.set $x (i64.mul (local.get $x) (i64.const 0xff51afd7ed558ccd)))
    (local.set $x (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 33))))
    (local.set $x (i64.mul (local.get $x) (i64.const 0xc4ceb9fe1a85ec53)))
    (i64.xor (local.get $x) (i64.shr_s (local.get $x) (i64.const 29))))
  (func (export "run") (param $n i32) (result i64)
    (local $i i32) (local $j i32) (local $h i64) (local $acc i64)
    ;; sieve of the first 60000 bytes
    (memory.fill (i32.const 0) (i32.const 1) (i32.const 60000))
    (local.set $i (i32.const 2))
    (block $sieved
      (loop $outer
        (br_if $sieved (i32.gt_u (i32.mul (local.get $i) (local.get $i)) (i32.const 60000)))
        (if (i32.load8_u (local.get $i))
          (then
            (local.set $j (i32.mul (local.get $i) (local.get $i)))
            (block $done
              (loop $inner
                (br_if $done (i32.ge_u (local.get $j) (i32.const 60000)))
                (i32.store8 (local.get $j) (i32.const 0))
                (local.set $j (i32.add (local.get $j) (local.get $i)))
                (br $inner)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer)))
    ;; hashing loop
    (local.set $i (i32.const 1))
    (block $end
      (loop $l
        (br_if $end (i32.gt_u (local.get $i) (local.get $n)))
        (local.set $h (call $mix (i64.extend_i32_u (local.get $i))))
        (local.set $acc
          (i64.add (local.get $acc)
            (i64.add
              (i64.rem_u (i64.div_s (local.get $h) (i64.extend_i32_u (i32.or (local.get $i) (i32.const 1))))
                         (i64.const 1000003))
              (i64.add (i64.popcnt (local.get $h))
                       (i64.extend_i32_u
                         (i32.add (i32.clz (i32.wrap_i64 (local.get $h)))
                                  (i32.div_u (i32.load8_u (i32.rem_u (local.get $i) (i32.const 60000)))
                                             (i32.const 1))))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $acc)))
