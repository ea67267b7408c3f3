#include <TH/TH.h>
#include <math.h>

/* Max RoI pooling on the CPU with the TH C API (torch.utils.ffi era). */
int roi_pooling_forward(int pooled_height, int pooled_width, float spatial_scale,
                        THFloatTensor * features, THFloatTensor * rois, THFloatTensor * output)
{
    float * rois_flat = THFloatTensor_data(rois);
    float * data_flat = THFloatTensor_data(features);
    float * out_flat = THFloatTensor_data(output);
    int num_rois = THFloatTensor_size(rois, 0);
    int size_rois = THFloatTensor_size(rois, 1);
    int num_channels = THFloatTensor_size(features, 1);
    int data_height = THFloatTensor_size(features, 2);
    int data_width = THFloatTensor_size(features, 3);
    int n, c, ph, pw;
    if (size_rois != 5)
        return 0;
    THFloatTensor_fill(output, -1);
    for (n = 0; n < num_rois; ++n) {
        int b = (int)rois_flat[n * 5];
        int x0 = (int)roundf(rois_flat[n * 5 + 1] * spatial_scale);
        int y0 = (int)roundf(rois_flat[n * 5 + 2] * spatial_scale);
        int x1 = (int)roundf(rois_flat[n * 5 + 3] * spatial_scale);
        int y1 = (int)roundf(rois_flat[n * 5 + 4] * spatial_scale);
        for (c = 0; c < num_channels; ++c)
            for (ph = 0; ph < pooled_height; ++ph)
                for (pw = 0; pw < pooled_width; ++pw) {
                    int h = y0 + (y1 - y0 + 1) * ph / pooled_height;
                    int w = x0 + (x1 - x0 + 1) * pw / pooled_width;
                    h = h < 0 ? 0 : (h >= data_height ? data_height - 1 : h);
                    w = w < 0 ? 0 : (w >= data_width ? data_width - 1 : w);
                    out_flat[((n * num_channels + c) * pooled_height + ph) * pooled_width + pw] =
                        data_flat[((b * num_channels + c) * data_height + h) * data_width + w];
                }
    }
    return 1;
}
