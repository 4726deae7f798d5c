;; A recursion `down(n)` that is `n` frames deep: the memory model's stack tests
;; (`aotc run --stack-size 64K --invoke down examples/recurse.wat 20000` traps).
(module
  (func $down (export "down") (param i32) (result i32)
    local.get 0
    i32.eqz
    if (result i32)
      i32.const 0
    else
      local.get 0
      i32.const 1
      i32.sub
      call $down
      i32.const 1
      i32.add
    end))
