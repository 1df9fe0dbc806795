pragma circom 2.1.0;
include "circuits/argmax.circom";
component main = ArgMax(5, 10);
