#include "core/staging_values.hpp"

namespace schema_guard::core {
namespace {

// Hex digit values, 16 for every other byte: a table, because random hex
// digits defeat the branch predictor of a range test.
struct HexTable {
  unsigned char value[256];
  constexpr HexTable() : value() {
    for (int i = 0; i < 256; ++i) value[i] = 16;
    for (int i = 0; i < 10; ++i) value['0' + i] = static_cast<unsigned char>(i);
    for (int i = 0; i < 6; ++i) {
      value['a' + i] = static_cast<unsigned char>(10 + i);
      value['A' + i] = static_cast<unsigned char>(10 + i);
    }
  }
};
constexpr HexTable kHex;

// Reads exactly `n` decimal digits at *p.
bool Digits(const char** p, int n, int* value) {
  int v = 0;
  for (int i = 0; i < n; ++i) {
    char c = (*p)[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *p += n;
  *value = v;
  return true;
}

bool Leap(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  return month == 2 && Leap(year) ? 29 : kDays[month - 1];
}

// Days from 2000-01-01 to the date (proleptic Gregorian calendar, years
// 1..9999), by the days-from-civil method.
int64_t DaysSince2000(int year, int month, int day) {
  int y = month <= 2 ? year - 1 : year;
  int era = y / 400;  // y >= 0 here
  int yoe = y - era * 400;
  int mp = (month + 9) % 12;
  int doy = (153 * mp + 2) / 5 + day - 1;
  int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  int64_t since_1970 = int64_t{era} * 146097 + doe - 719468;
  return since_1970 - 10957;
}

// "Z", "+HH", "-HH", "+HH:MM" or "-HH:MM" and the end of the text; the
// offset east of UTC in seconds.
bool Zone(const char* p, int64_t* east) {
  if (p[0] == 'Z' && p[1] == '\0') {
    *east = 0;
    return true;
  }
  if (p[0] != '+' && p[0] != '-') return false;
  int sign = p[0] == '+' ? 1 : -1;
  ++p;
  int hours = 0;
  int minutes = 0;
  if (!Digits(&p, 2, &hours) || hours > 14) return false;
  if (*p == ':') {
    ++p;
    if (!Digits(&p, 2, &minutes) || minutes > 59) return false;
  }
  if (*p != '\0') return false;
  *east = sign * (int64_t{hours} * 3600 + int64_t{minutes} * 60);
  return true;
}

}  // namespace

bool ReadCanonicalUuid(const char* text, unsigned char out[16]) {
  // Offsets of the 32 digits in "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx".
  static constexpr unsigned char kAt[16] = {0,  2,  4,  6,  9,  11, 14, 16,
                                            19, 21, 24, 26, 28, 30, 32, 34};
  const auto* p = reinterpret_cast<const unsigned char*>(text);
  // Nothing is read past the text's NUL: each byte is read only after the
  // ones before it were digits or hyphens.
  for (int i = 0; i < 16; ++i) {
    const unsigned char* d = p + kAt[i];
    if ((i == 4 || i == 6 || i == 8 || i == 10) && d[-1] != '-') return false;
    unsigned high = kHex.value[d[0]];
    if (high == 16) return false;
    unsigned low = kHex.value[d[1]];
    if (low == 16) return false;
    out[i] = static_cast<unsigned char>(high << 4 | low);
  }
  return p[36] == '\0';
}

bool ReadIsoTimestamp(const char* text, bool zoned, int max_fraction_digits,
                      int64_t* microseconds) {
  const char* p = text;
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  if (!Digits(&p, 4, &year) || *p++ != '-' || !Digits(&p, 2, &month) ||
      *p++ != '-' || !Digits(&p, 2, &day)) {
    return false;
  }
  if (*p != 'T' && *p != ' ') return false;
  ++p;
  if (!Digits(&p, 2, &hour) || *p++ != ':' || !Digits(&p, 2, &minute) ||
      *p++ != ':' || !Digits(&p, 2, &second)) {
    return false;
  }
  if (year < 1 || month < 1 || month > 12 || day < 1 ||
      day > DaysInMonth(year, month) || hour > 23 || minute > 59 ||
      second > 59) {
    return false;
  }
  int64_t fraction = 0;
  if (*p == '.') {
    ++p;
    int digits = 0;
    while (*p >= '0' && *p <= '9') {
      if (++digits > 6 || digits > max_fraction_digits) return false;
      fraction = fraction * 10 + (*p++ - '0');
    }
    if (digits == 0) return false;
    for (; digits < 6; ++digits) fraction *= 10;
  }
  int64_t east = 0;
  if (zoned ? !Zone(p, &east) : *p != '\0') return false;
  int64_t seconds = DaysSince2000(year, month, day) * 86400 +
                    int64_t{hour} * 3600 + int64_t{minute} * 60 + second - east;
  *microseconds = seconds * 1000000 + fraction;
  return true;
}

}  // namespace schema_guard::core
