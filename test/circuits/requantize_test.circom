pragma circom 2.1.0;
include "circuits/requantize.circom";
component main = Requantize(3, 8, 4);
