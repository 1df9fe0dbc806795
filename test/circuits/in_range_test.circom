pragma circom 2.1.0;
include "circuits/in_range.circom";
// the signed 8-bit domain [−127, 127], offset by 127: 255 values in an 8-bit slot
component main = InRange(8, 254);
