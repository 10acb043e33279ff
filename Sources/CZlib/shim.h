// zlib's gz* file API reads .nii.gz and plain .nii alike; Debian's zlib1g-dev (pulled in by libpng-dev).
#include <zlib.h>
