/* Every tte kernel family: what generated code includes. */
#ifndef TTE_KERNELS_H
#define TTE_KERNELS_H
#include "tte/common.h"
#include "tte/activation.h"
#include "tte/block.h"
#include "tte/checkpoint.h"
#include "tte/conv.h"
#include "tte/elementwise.h"
#include "tte/grad.h"
#include "tte/loss.h"
#include "tte/mask.h"
#include "tte/mathf.h"
#include "tte/movement.h"
#include "tte/pool.h"
#include "tte/pooled_update.h"
#include "tte/softmax.h"
#include "tte/split.h"
#include "tte/structural.h"
#include "tte/update.h"
#endif
