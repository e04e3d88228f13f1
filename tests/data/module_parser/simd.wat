;; SIMD with every kind of immediate: memarg, lane index, v128.const, shuffle,
;; load/store lane. The walk must stay in step through all of them.
(module
  (memory 1)
  (global $zero v128 (v128.const i64x2 0 0))
  (func (export "simd") (param $p v128) (result i32) (local $v v128)
    i32.const 0
    v128.load offset=16
    v128.const i32x4 1 2 3 4
    i32x4.add
    local.get $p
    i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15
    local.set $v
    i32.const 0
    local.get $v
    v128.load32_lane 2
    i32.const 8
    v128.load64_splat
    f64x2.add
    local.set $v
    i32.const 0
    local.get $v
    v128.store16_lane offset=4 3
    local.get $v
    i16x8.extract_lane_u 5
    local.get $v
    f32x4.demote_f64x2_zero
    i32x4.extract_lane 1
    i32.add
    i32.const 0
    v128.load32_zero
    v128.any_true
    i32.add
    global.get $zero
    i32x4.all_true
    i32.add))
