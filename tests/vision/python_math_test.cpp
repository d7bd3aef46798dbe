// Python's float // and round(x, n), the operations HF's size rules use.
// Expected values are CPython 3.11's (python3 -c "print(1.0 // 0.1)" etc.).
#include "vision/python_math.hpp"

#include <gtest/gtest.h>

using namespace mechlens::vision;

TEST(PythonMath, FloorDivisionIsCPythons) {
  EXPECT_EQ(python_floordiv(1.0, 0.1), 9.0);  // floor(1.0 / 0.1) would be 10
  EXPECT_EQ(python_floordiv(7.0, 0.7), 10.0);
  EXPECT_EQ(python_floordiv(26.0, 1.3333333333333333), 19.0);
  EXPECT_EQ(python_floordiv(100.0, 3.0000000000000004), 33.0);
  EXPECT_EQ(python_floordiv(-7.0, 2.0), -4.0);
  EXPECT_EQ(python_floordiv(6.0, -4.0), -2.0);
}

TEST(PythonMath, RoundIsCorrectlyRoundedHalfEven) {
  EXPECT_EQ(python_round(2.675, 2), 2.67);  // 2.675 is below the tie in binary
  EXPECT_EQ(python_round(26.99999995, 7), 26.9999999);
  EXPECT_EQ(python_round(1.00000005, 7), 1.0);
  EXPECT_EQ(python_round(0.12345675, 7), 0.1234568);
  EXPECT_EQ(python_round(2.5, 0), 2.0);
  EXPECT_EQ(python_round(3.5, 0), 4.0);
  EXPECT_EQ(python_round(-26.99999995, 7), -26.9999999);
}
